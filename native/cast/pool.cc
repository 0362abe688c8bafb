// The cast thread pool: workers started once, woken per job, and never joined (the process may exit
// while they sleep; nothing they hold needs cleaning up).
#include "cast/pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace joule::cast {
namespace {

struct Job {
  const std::function<void(int)>* task;
  int tasks;
  std::atomic<int> next{0};
  int finished = 0;  // guarded by Pool::mutex_
  int users = 0;     // workers still holding a pointer to this job, guarded by Pool::mutex_
};

int Drain(Job* job) {
  int done = 0;
  for (;;) {
    int index = job->next.fetch_add(1);
    if (index >= job->tasks) return done;
    (*job->task)(index);
    ++done;
  }
}

class Pool {
 public:
  explicit Pool(int workers) {
    for (int i = 0; i < workers; ++i) std::thread([this] { Work(); }).detach();
    width_ = workers + 1;
  }

  int width() const { return width_; }

  void Run(int tasks, const std::function<void(int)>& task) {
    std::unique_lock<std::mutex> owner(run_mutex_, std::try_to_lock);
    if (width_ == 1 || tasks <= 1 || !owner.owns_lock()) {
      for (int i = 0; i < tasks; ++i) task(i);
      return;
    }
    Job job;
    job.task = &task;
    job.tasks = tasks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &job;
      ++generation_;
    }
    wake_.notify_all();
    int done = Drain(&job);
    std::unique_lock<std::mutex> lock(mutex_);
    job.finished += done;
    // The job lives on this stack frame: wait until no worker can still touch it.
    idle_.wait(lock, [&] { return job.finished == tasks && job.users == 0; });
    job_ = nullptr;
  }

 private:
  void Work() {
    uint64_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
      Job* job = job_;
      if (job == nullptr) continue;
      ++job->users;
      lock.unlock();
      int done = Drain(job);
      lock.lock();
      job->finished += done;
      --job->users;
      idle_.notify_all();
    }
  }

  int width_ = 1;
  std::mutex run_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  Job* job_ = nullptr;
  uint64_t generation_ = 0;
};

Pool& ThePool() {
  // Leaked on purpose: detached workers may outlive static destruction at exit.
  static Pool* pool = new Pool(std::max(1u, std::thread::hardware_concurrency()) - 1);
  return *pool;
}

}  // namespace

void ParallelFor(int tasks, const std::function<void(int)>& task) { ThePool().Run(tasks, task); }

int PoolWidth() { return ThePool().width(); }

}  // namespace joule::cast
