// One thread per communicator that runs its operations in submission order, so long collectives never
// block JavaScript and small ones avoid the libuv thread-pool hop.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "comm/backend.h"

namespace joule::comm {

struct Completion {
  uint64_t id = 0;
  OpResult result;
  std::optional<ErrorCode> code;  // empty on success
  std::string message;
  double seconds = 0;  // wall time of all iterations, measured on the communicator thread
};

class Engine {
 public:
  // `done` runs on the engine thread after each job.
  Engine(std::unique_ptr<Backend> backend, std::function<void(Completion&&)> done);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Runs `op` `iterations` times back to back (benchmarks time the loop natively).
  void Submit(uint64_t id, const Op& op, int iterations);
  void Abort(const std::string& reason) { backend_->Abort(reason); }
  Backend& backend() { return *backend_; }

 private:
  struct Job { uint64_t id; Op op; int iterations; };
  void Loop();

  std::unique_ptr<Backend> backend_;
  std::function<void(Completion&&)> done_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace joule::comm
