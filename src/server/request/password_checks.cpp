#include "server/request/password_checks.h"

#include <openssl/crypto.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "auth/password_hash.h"
#include "core/assert.h"

namespace pillar::server {

namespace {

// The process's checker threads, started at the first check (in a worker,
// after the fork). Never destroyed: the threads wait on it until the
// process exits, and no destructor may run under them.
class Checkers {
 public:
  static Checkers& get() {
    static Checkers* c = new Checkers;
    return *c;
  }
  bool queue(std::shared_ptr<PasswordJob> job) {
    std::lock_guard lock(m_);
    if (!started_) {
      started_ = true;
      for (int i = 0; i < PasswordChecks::kThreads; ++i) std::thread([this] { run(); }).detach();
    }
    if (q_.size() >= PasswordChecks::kMaxQueued) return false;
    q_.push_back(std::move(job));
    cv_.notify_one();
    return true;
  }

 private:
  void run() {
    for (;;) {
      std::shared_ptr<PasswordJob> job;
      {
        std::unique_lock lock(m_);
        cv_.wait(lock, [&] { return !q_.empty(); });
        job = std::move(q_.front());
        q_.pop_front();
      }
      job->result.store(auth::verify_password(job->password, job->hash) ? 1 : 0, std::memory_order_release);
      const uint64_t one = 1;
      // The job (and so its eventfd) lives while this thread holds it, even
      // if the request that waited on it is gone.
      ssize_t n = ::write(job->done.get(), &one, sizeof one);
      (void)n;  // an eventfd write of 1 cannot fail short of overflow
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<PasswordJob>> q_;
  bool started_ = false;
};

}  // namespace

PasswordJob::~PasswordJob() { OPENSSL_cleanse(password.data(), password.size()); }

std::shared_ptr<PasswordJob> PasswordChecks::submit(std::string password, std::string hash) {
  auto job = std::make_shared<PasswordJob>();
  job->password = std::move(password);
  job->hash = std::move(hash);
  job->done.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!job->done.valid() || !Checkers::get().queue(job)) return nullptr;
  return job;
}

PasswordCheckExchange::PasswordCheckExchange(http::ExchangeHost& host, core::EventLoop& loop,
                                             std::shared_ptr<PasswordJob> job)
    : host_(host), loop_(loop), job_(std::move(job)) {
  PILLAR_ASSERT(job_ && job_->done.valid());
  // Level-triggered: a result written before the watch starts is still seen.
  watching_ = loop_.add(job_->done.get(), EPOLLIN, this);
}

PasswordCheckExchange::~PasswordCheckExchange() { stop_watching(); }

void PasswordCheckExchange::stop_watching() {
  if (watching_) loop_.remove(job_->done.get());
  watching_ = false;
}

http::Exchange::Step PasswordCheckExchange::proceed() {
  if (job_->result.load(std::memory_order_acquire) < 0) return Step::Again;
  stop_watching();
  return Step::Done;
}

bool PasswordCheckExchange::abort(bool) {
  stop_watching();  // the checker thread finishes alone; its job is freed with the last holder
  return false;
}

void PasswordCheckExchange::on_io(uint32_t) {
  uint64_t n = 0;
  while (::read(job_->done.get(), &n, sizeof n) < 0 && errno == EINTR) {
  }
  host_.wake();
}

}  // namespace pillar::server
