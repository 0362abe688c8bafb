// The power sampler: one thread per process reads every channel (GPUs through NVML, RAPL zones, the
// process's CPU time) each period into a ring buffer that JavaScript drains in batches.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gpu/nvml.h"
#include "power/counter.h"
#include "power/rapl_domains.h"

namespace joule::power {

// The flat options the sampler copies from JavaScript (validated there).
struct SamplerConfig {
  double periodS = 0.1;
  double auxPeriodS = 0.1;           // utilization, SM clock and temperature are read at most this often
  std::vector<unsigned int> gpus;    // NVML indices this process owns
  bool rapl = false;                 // read the node's RAPL zones (one process per node does)
  std::string powercapRoot;
  size_t capacityTicks = 4096;       // the ring holds this many ticks of every channel
};

enum class ChannelKind { kGpu, kRapl, kProcess };

// One thing sampled each tick; fixed once the sampler starts.
struct Channel {
  ChannelKind kind = ChannelKind::kProcess;
  std::string label;            // "gpu0", "package-0", "dram:0", "process"
  std::string path;             // the RAPL zone folder
  unsigned int gpuIndex = 0;
  nvml::GpuInfo gpu;            // name, UUID, power limit, counter
  std::string energyFallback;   // why the GPU's energy comes from power (empty with a counter)
  unsigned long long rangeUj = 0;
  double maxPowerW = 0;
  // Sampler-thread state.
  nvml::Device device = nullptr;
  int fd = -1;
  CounterState counter;
  double lastAuxT = -1;
};

// Why a source could not be used at all; the sampler runs with what it has.
struct Unavailable {
  std::string source;  // "nvml", "rapl" or "rapl:<zone path>"
  std::string reason;
};

// The columns of one sample, in order; NaN where a channel has no such reading this tick.
enum Field {
  kTime, kChannel, kEnergyJ, kPowerW, kUtilizationPct, kSmClockMHz, kTemperatureC, kCpuTimeS,
  kEnergyStatus, kPowerStatus, kWraps, kResets, kFieldCount
};

struct SamplerStats {
  unsigned long long ticks = 0;
  unsigned long long samples = 0;
  unsigned long long overrunSamples = 0;  // dropped because the ring was full
  double threadCpuTimeS = 0;
  double periodS = 0;                     // after any clamp for RAPL wraparound
  size_t pendingSamples = 0;
};

class Sampler {
 public:
  explicit Sampler(SamplerConfig config) : config_(std::move(config)) {}
  ~Sampler() { Stop(); }
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Opens the channels (NVML may be null when it did not load) and starts the thread. Worker thread.
  void Start(const nvml::Nvml* nvml);
  void Stop();
  // Asks for a sample now rather than at the next period (window boundaries).
  void Kick();
  // Moves every pending sample (kFieldCount doubles each) into `out`.
  void Drain(std::vector<double>* out);
  SamplerStats Stats();

  const std::vector<Channel>& channels() const { return channels_; }
  const std::vector<Unavailable>& unavailable() const { return unavailable_; }

 private:
  void OpenGpus(const nvml::Nvml* nvml);
  void OpenRapl();
  void Run();
  void Tick(double t, std::vector<double>* row);
  void ReadGpu(Channel* channel, double t, double* sample);
  void ReadRapl(Channel* channel, double t, double* sample);

  SamplerConfig config_;
  const nvml::Api* api_ = nullptr;
  std::vector<Channel> channels_;
  std::vector<Unavailable> unavailable_;
  std::thread thread_;

  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  bool stopping_ = false;
  bool kicked_ = false;
  std::vector<double> ring_;
  size_t head_ = 0;   // next sample to drain
  size_t count_ = 0;  // samples in the ring
  SamplerStats stats_;
};

}  // namespace joule::power
