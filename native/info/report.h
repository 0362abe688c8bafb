// The capability report: which backends this process can use, and why not when it can't.
#pragma once

#include <string>
#include <vector>

#include "gpu/cuda_module.h"
#include "gpu/nccl.h"
#include "gpu/nvml.h"
#include "power/rapl_domains.h"

namespace joule::info {

struct Backend {
  bool usable = false;
  std::string reason;  // empty when usable
  std::string path;    // the library that was loaded, when one was
};

struct Report {
  Backend nvml, nccl, cuda, rapl, shm, tcp;
  std::string driverVersion;
  std::vector<nvml::GpuInfo> gpus;
  std::string ncclVersion;
  std::string cudaArchs;  // what libjoule_cuda.so was built for, when it loaded
  int cudaRuntimeVersion = 0;
  int cudaDevices = 0;
  std::string powercapRoot;
  std::vector<power::RaplDomain> raplDomains;
  std::vector<std::string> simd;
};

// The per-process libraries, loaded at most once; owned by the addon instance.
struct Libraries {
  nvml::Nvml nvml;
  nccl::Nccl nccl;
  cuda::CudaModule cuda;
};

// Runs on a worker thread: loads what it can and never throws.
Report Collect(Libraries* libraries, const std::string& addon_dir);

}  // namespace joule::info
