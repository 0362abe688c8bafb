// A small persistent thread pool for splitting large array conversions across the cores.
#pragma once

#include <functional>

namespace joule::cast {

// Runs task(0) ... task(tasks - 1), each exactly once, on the pool's threads and the calling thread,
// and returns when all have finished. A call made while another caller holds the pool runs its tasks
// on its own thread instead of waiting (several JS threads may convert at once).
void ParallelFor(int tasks, const std::function<void(int)>& task);

// The number of threads that can work at once (the pool's workers plus the caller).
int PoolWidth();

}  // namespace joule::cast
