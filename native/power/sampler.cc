// The sampler thread: opens its channels once, then reads them every period into the ring.
#include "power/sampler.h"

#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace joule::power {
namespace {

// Without constraint_0_max_power_uw, a zone is assumed to draw at most this much when choosing a
// period short enough to see every wrap of its counter.
constexpr double kAssumedMaxZonePowerW = 1000;
constexpr double kMinPeriodS = 0.001;

double ClockS(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string Basename(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

void Sampler::Start(const nvml::Nvml* nvml) {
  if (!config_.gpus.empty()) OpenGpus(nvml);
  if (config_.rapl) OpenRapl();
  Channel process;
  process.kind = ChannelKind::kProcess;
  process.label = "process";
  channels_.push_back(process);

  stats_.periodS = config_.periodS;
  for (const auto& channel : channels_) {
    if (channel.kind != ChannelKind::kRapl || channel.rangeUj == 0) continue;
    double max_power_w = channel.maxPowerW > 0 ? channel.maxPowerW : kAssumedMaxZonePowerW;
    double wrap_s = static_cast<double>(channel.rangeUj) * 1e-6 / max_power_w;
    stats_.periodS = std::max(kMinPeriodS, std::min(stats_.periodS, wrap_s / 2));
  }
  ring_.assign(config_.capacityTicks * channels_.size() * kFieldCount, NAN);
  thread_ = std::thread(&Sampler::Run, this);
}

void Sampler::OpenGpus(const nvml::Nvml* nvml) {
  if (nvml == nullptr || !nvml->usable()) {
    unavailable_.push_back({"nvml", nvml == nullptr ? "NVML not loaded" : nvml->reason()});
    return;
  }
  api_ = &nvml->api();
  std::vector<nvml::GpuInfo> all;
  std::string error;
  if (!nvml->Devices(&all, &error)) {
    unavailable_.push_back({"nvml", error});
    return;
  }
  for (unsigned int index : config_.gpus) {
    if (index >= all.size()) {
      unavailable_.push_back({"nvml:gpu" + std::to_string(index),
                              "NVML sees " + std::to_string(all.size()) + " GPUs; index " +
                                  std::to_string(index) + " does not exist"});
      continue;
    }
    Channel channel;
    channel.kind = ChannelKind::kGpu;
    channel.label = "gpu" + std::to_string(index);
    channel.gpuIndex = index;
    channel.gpu = all[index];
    nvml::Return rc = api_->DeviceGetHandleByIndex(index, &channel.device);
    if (rc != nvml::kSuccess) {
      unavailable_.push_back({"nvml:" + channel.label, nvml->Describe("nvmlDeviceGetHandleByIndex_v2", rc)});
      continue;
    }
    if (api_->DeviceGetTotalEnergyConsumption == nullptr) {
      channel.energyFallback = "nvmlDeviceGetTotalEnergyConsumption is not in " + nvml->path();
    } else {
      unsigned long long mj = 0;
      rc = api_->DeviceGetTotalEnergyConsumption(channel.device, &mj);
      if (rc != nvml::kSuccess) channel.energyFallback = nvml->Describe("nvmlDeviceGetTotalEnergyConsumption", rc);
    }
    channels_.push_back(channel);
  }
}

void Sampler::OpenRapl() {
  std::string error;
  std::vector<RaplDomain> all = FindRaplDomains(config_.powercapRoot, &error);
  if (all.empty()) {
    unavailable_.push_back({"rapl", error});
    return;
  }
  for (const auto& domain : EnergyDomains(all)) {
    if (!domain.error.empty()) {
      unavailable_.push_back({"rapl:" + domain.path, domain.error});
      continue;
    }
    std::string file = domain.path + "/energy_uj";
    int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      unavailable_.push_back({"rapl:" + domain.path, DescribeReadError(file, errno)});
      continue;
    }
    Channel channel;
    channel.kind = ChannelKind::kRapl;
    channel.label = domain.name + "@" + Basename(domain.path);
    channel.path = domain.path;
    channel.rangeUj = domain.maxEnergyRangeUj;
    channel.maxPowerW = domain.maxPowerW;
    channel.fd = fd;
    channels_.push_back(channel);
  }
  if (std::none_of(channels_.begin(), channels_.end(),
                   [](const Channel& c) { return c.kind == ChannelKind::kRapl; }) &&
      unavailable_.empty()) {
    unavailable_.push_back({"rapl", "no package or dram zone under " + config_.powercapRoot});
  }
}

void Sampler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  for (auto& channel : channels_) {
    if (channel.fd >= 0) close(channel.fd);
    channel.fd = -1;
  }
}

void Sampler::Kick() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    kicked_ = true;
  }
  wake_.notify_all();
}

void Sampler::Drain(std::vector<double>* out) {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t capacity = ring_.size() / kFieldCount;
  out->reserve(out->size() + count_ * kFieldCount);
  for (size_t i = 0; i < count_; ++i) {
    const double* sample = &ring_[((head_ + i) % capacity) * kFieldCount];
    out->insert(out->end(), sample, sample + kFieldCount);
  }
  head_ = (head_ + count_) % capacity;
  count_ = 0;
}

SamplerStats Sampler::Stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  SamplerStats stats = stats_;
  stats.pendingSamples = count_;
  clockid_t clock;
  if (thread_.joinable() && !stopping_ && pthread_getcpuclockid(thread_.native_handle(), &clock) == 0) {
    stats.threadCpuTimeS = ClockS(clock);
  }
  return stats;
}

void Sampler::Run() {
  using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC, the clock the samples are stamped with
  const auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(stats_.periodS));
  const size_t width = channels_.size() * kFieldCount;
  const size_t capacity = ring_.size() / kFieldCount;
  std::vector<double> row(width);
  auto next = Clock::now();
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    Tick(ClockS(CLOCK_MONOTONIC), &row);
    lock.lock();
    stats_.ticks++;
    if (count_ + channels_.size() > capacity) {
      stats_.overrunSamples += channels_.size();
    } else {
      for (size_t i = 0; i < channels_.size(); ++i) {
        std::copy_n(&row[i * kFieldCount], kFieldCount, &ring_[((head_ + count_) % capacity) * kFieldCount]);
        count_++;
      }
      stats_.samples += channels_.size();
    }
    // The schedule moves only past a tick that was due: a kick is an extra tick and leaves it alone (moving it
    // would push the next scheduled tick one period further per kick, and a burst of kicks would silence
    // the thread for seconds). After a stall, resume on the period from now instead of firing the missed
    // ticks back to back.
    const auto now = Clock::now();
    if (next <= now) {
      next += period;
      if (next <= now) next = now + period;
    }
    wake_.wait_until(lock, next, [this] { return stopping_ || kicked_; });
    kicked_ = false;
  }
  stats_.threadCpuTimeS = ClockS(CLOCK_THREAD_CPUTIME_ID);
}

void Sampler::Tick(double t, std::vector<double>* row) {
  std::fill(row->begin(), row->end(), NAN);
  for (size_t i = 0; i < channels_.size(); ++i) {
    double* sample = &(*row)[i * kFieldCount];
    Channel& channel = channels_[i];
    sample[kTime] = t;
    sample[kChannel] = static_cast<double>(i);
    switch (channel.kind) {
      case ChannelKind::kGpu: ReadGpu(&channel, t, sample); break;
      case ChannelKind::kRapl: ReadRapl(&channel, t, sample); break;
      case ChannelKind::kProcess: sample[kCpuTimeS] = ClockS(CLOCK_PROCESS_CPUTIME_ID); break;
    }
  }
}

void Sampler::ReadGpu(Channel* channel, double t, double* sample) {
  unsigned int milliwatts = 0;
  nvml::Return rc = api_->DeviceGetPowerUsage(channel->device, &milliwatts);
  sample[kPowerStatus] = rc;
  if (rc == nvml::kSuccess) sample[kPowerW] = milliwatts / 1000.0;
  if (channel->energyFallback.empty()) {
    unsigned long long millijoules = 0;
    rc = api_->DeviceGetTotalEnergyConsumption(channel->device, &millijoules);
    sample[kEnergyStatus] = rc;
    if (rc == nvml::kSuccess) {
      AccumulateMonotonic(&channel->counter, millijoules, 1e-3, t, sample[kPowerW]);
      sample[kEnergyJ] = channel->counter.joules;
    }
    sample[kWraps] = static_cast<double>(channel->counter.wraps);
    sample[kResets] = static_cast<double>(channel->counter.resets);
  }
  if (t - channel->lastAuxT < config_.auxPeriodS) return;
  channel->lastAuxT = t;
  nvml::Utilization utilization{};
  if (api_->DeviceGetUtilizationRates != nullptr &&
      api_->DeviceGetUtilizationRates(channel->device, &utilization) == nvml::kSuccess) {
    sample[kUtilizationPct] = utilization.gpu;
  }
  unsigned int value = 0;
  if (api_->DeviceGetClockInfo != nullptr &&
      api_->DeviceGetClockInfo(channel->device, nvml::kClockSm, &value) == nvml::kSuccess) {
    sample[kSmClockMHz] = value;
  }
  if (api_->DeviceGetTemperature != nullptr &&
      api_->DeviceGetTemperature(channel->device, nvml::kTemperatureGpu, &value) == nvml::kSuccess) {
    sample[kTemperatureC] = value;
  }
}

void Sampler::ReadRapl(Channel* channel, double t, double* sample) {
  unsigned long long microjoules = 0;
  int code = PreadCounter(channel->fd, &microjoules);
  sample[kEnergyStatus] = code == 0 ? 0 : -code;
  if (code == 0) {
    double max_power_w = channel->maxPowerW > 0 ? channel->maxPowerW : kAssumedMaxZonePowerW;
    AccumulateWrapping(&channel->counter, microjoules, channel->rangeUj, 1e-6, t, max_power_w);
    sample[kEnergyJ] = channel->counter.joules;
  }
  sample[kWraps] = static_cast<double>(channel->counter.wraps);
  sample[kResets] = static_cast<double>(channel->counter.resets);
}

}  // namespace joule::power
