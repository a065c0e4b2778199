// The response filters of one request (mod_headers, mod_deflate...),
// stacked between the exchange that answers and the carrier's sink. The
// filter step of the phase table (install_response_filters) asks each
// filter module whether this request wants it; a request no filter wants
// has an empty stack and writes straight into the carrier's sink.
#pragma once
#include <memory>
#include <vector>

#include "http/sink_filter.h"

namespace pillar::server {

struct Request;

class ResponseFilters {
 public:
  // Innermost first: the first pushed writes into the carrier's sink.
  void push(std::unique_ptr<http::SinkFilter> f) { stack_.push_back(std::move(f)); }
  bool empty() const { return stack_.empty(); }
  void clear() {
    stack_.clear();
    attached_to_ = nullptr;
    installed_ = false;
  }
  // Takes the content filters (SinkFilter::content_filter) off the stack,
  // before anything was written: the response is the server's own page.
  void drop_content_filters() {
    std::erase_if(stack_, [](const auto& f) { return f->content_filter(); });
    attached_to_ = nullptr;
  }
  // The filter step ran for this request (its stack may still be empty).
  bool installed() const { return installed_; }
  void mark_installed() { installed_ = true; }
  // The sink an exchange writes into: the outermost filter, attached down
  // to `base`; `base` itself when there is none.
  http::ResponseSink& top(http::ResponseSink& base) {
    if (stack_.empty()) return base;
    if (!attached_to_ || attached_to_ != &base || attached_count_ != stack_.size()) attach(base);
    return *stack_.back();
  }

 private:
  void attach(http::ResponseSink& base) {
    http::ResponseSink* below = &base;
    for (auto& f : stack_) {
      f->attach(*below);
      below = f.get();
    }
    attached_to_ = &base;
    attached_count_ = stack_.size();
  }
  std::vector<std::unique_ptr<http::SinkFilter>> stack_;
  http::ResponseSink* attached_to_ = nullptr;
  size_t attached_count_ = 0;
  bool installed_ = false;
};

// The filter step: pushes onto req.filters each filter that wants this
// request (its route, its headers). Runs after access, before the exchange,
// or for an answer the server gives before that step (a redirect, a 413),
// when that answer is queued.
// `carrier` gives the filters that pace (RATE_LIMIT) the loop's timers and a
// way to wake the request; without one (the server's own early answers,
// written before the filter step) they are not put on.
class RequestCarrier;
void install_response_filters(Request& req, RequestCarrier* carrier = nullptr);

}  // namespace pillar::server
