// Builds the capability report from the loaders and probes.
#include "info/report.h"


#include "comm/probe.h"
#include "cpu/features.h"
#include "settings.h"

namespace joule::info {
namespace {

Backend FromProbe(const std::string& reason) {
  Backend backend;
  backend.usable = reason.empty();
  backend.reason = reason;
  return backend;
}

void CollectNvml(nvml::Nvml& nvml, Report* report) {
  report->nvml.usable = nvml.Load();
  report->nvml.path = nvml.path();
  report->nvml.reason = nvml.reason();
  if (!report->nvml.usable) return;
  report->driverVersion = nvml.driverVersion();
  std::string error;
  if (!nvml.Devices(&report->gpus, &error)) {
    report->nvml.usable = false;
    report->nvml.reason = error;
  } else if (report->gpus.empty()) {
    report->nvml.usable = false;
    report->nvml.reason = "NVML loaded but sees no GPU";
  }
}

void CollectRapl(Report* report) {
  report->powercapRoot = Setting("JOULE_POWERCAP_ROOT", "/sys/class/powercap");
  std::string error;
  report->raplDomains = power::FindRaplDomains(report->powercapRoot, &error);
  for (const auto& domain : report->raplDomains) {
    if (domain.error.empty()) {
      report->rapl.usable = true;
    } else if (report->rapl.reason.empty()) {
      report->rapl.reason = domain.error;
    }
  }
  if (report->raplDomains.empty()) report->rapl.reason = error;
  if (report->rapl.usable) report->rapl.reason.clear();
}

}  // namespace

Report Collect(Libraries* libraries, const std::string& addon_dir) {
  Report report;
  CollectNvml(libraries->nvml, &report);

  report.nccl.usable = libraries->nccl.Load();
  report.nccl.path = libraries->nccl.path();
  report.nccl.reason = libraries->nccl.reason();
  report.ncclVersion = libraries->nccl.version();

  cuda::CudaModule& cuda = libraries->cuda;
  report.cuda.usable = cuda.Load(addon_dir);
  report.cuda.path = cuda.path();
  report.cuda.reason = cuda.reason();
  report.cudaArchs = cuda.archs();
  report.cudaRuntimeVersion = cuda.runtimeVersion();
  report.cudaDevices = cuda.deviceCount();

  CollectRapl(&report);
  report.shm = FromProbe(comm::ProbeSharedMemory());
  report.tcp = FromProbe(comm::ProbeTcp());
  report.simd = cpu::Names(cpu::Detect());
  return report;
}

}  // namespace joule::info
