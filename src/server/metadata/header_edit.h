// mod_headers' edit engine: Header and RequestHeader actions over a list
// of fields, with Apache's semantics (mod_headers.c's do_headers_fixup):
//   set        replaces every field of the name by one (the first's place)
//   setifempty sets it only when no field of the name is there
//   add        adds a field, even when one of the name is there
//   append     appends ", VALUE" to the first field of the name (or adds it)
//   merge      as append, unless VALUE is already one of its comma-separated
//              tokens (compared exactly, quoted strings kept whole)
//   unset      removes every field of the name
//   echo       copies each request field whose name matches the regex
//   edit       replaces the regex's first match in each field of the name,
//   edit*      or every match; the replacement's specifiers first, then $N
//   note       copies the first field's value into a note named VALUE
// Values are formats (config::HeaderFormat): %t %D %l %i %b %{VAR}e %{VAR}s.
//
// A response field sits in one of Apache's two tables (FieldTable): a
// Header line without a condition (onsuccess) sees the onsuccess table's
// fields, `Header always` the always table's. Which table a response's
// fields are in depends on who made the response (see headers_filter.h);
// Content-Type is seen by both (Apache keeps it apart and lets both set
// it), Date by neither (the core writes it after mod_headers).
#pragma once
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/expr.h"
#include "config/metadata.h"
#include "http/request.h"
#include "http/request_env.h"

namespace pillar::server::metadata {

// What the format specifiers read. The server's (headers_filter.cpp) reads
// the request, the clock, the scoreboard and the TLS connection.
class FormatSource {
 public:
  virtual ~FormatSource() = default;
  virtual const http::RequestEnv& env() const = 0;
  virtual uint64_t request_time_us() const = 0;  // %t: microseconds since the epoch
  virtual uint64_t duration_us() const = 0;      // %D
  virtual std::string load() const = 0;          // %l: "0.10/0.20/0.30"
  virtual int idle_percent() const = 0;          // %i
  virtual int busy_percent() const = 0;          // %b
  virtual std::string ssl_var(std::string_view name) const = 0;  // %{VAR}s, "" when none
};

void render_format(const config::HeaderFormat& f, const FormatSource& src, std::string& out);

// The action's env= condition against the request's environment, or its
// expr= condition against `in` (no expr= condition holds without an input).
bool condition_holds(const config::HeaderAction& a, const http::RequestEnv& env, const config::ExprInput* in = nullptr);

enum class FieldTable : uint8_t {
  None,       // untouchable by Header (Date; an error's fields, answered locally)
  OnSuccess,  // Apache's r->headers_out
  Always,     // Apache's r->err_headers_out
  Both,       // Content-Type
};

struct ResponseField {
  std::string name, value;
  FieldTable table = FieldTable::OnSuccess;
};

// One Header action over a response's fields (the condition is the caller's).
void apply_response_action(const config::HeaderAction& a, std::vector<ResponseField>& fields,
                           std::span<const http::HeaderField> request_fields, const FormatSource& src,
                           http::RequestEnv& notes);

// One RequestHeader action over the request head's fields; new values are
// kept in `storage` (the fields are views).
void apply_request_action(const config::HeaderAction& a, std::vector<http::HeaderField>& fields,
                          std::deque<std::string>& storage, const FormatSource& src, http::RequestEnv& notes);

// "Name: value\r\n"... into fields, every one in `table` (Content-Type in
// Both, Date in None); false for a line that is not a field.
bool parse_fields(std::string_view block, FieldTable table, std::vector<ResponseField>& fields);

}  // namespace pillar::server::metadata
