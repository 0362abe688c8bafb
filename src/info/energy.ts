// What `joule info` says about energy on this machine: what will be measured (NVML, RAPL) and what only modelled, with the profile's figures.
import type { EnergyProfile } from '../power/profile';
import type { CapabilityReport } from './report';

export interface EnergyPlan {
  /** e.g. "nvml (2 GPUs, energy counters)", "rapl (package-0, dram)"; empty when nothing is measured. */
  measured: string[];
  /** What the model stands in for, with its formula's inputs. */
  modelled: string[];
  profile: EnergyProfile;
  /** One line: "energy: model only — profile local: 10 W per core, PUE 1, 480 g/kWh, assumed". */
  summary: string;
}

/** `nodeGpus`: the GPUs ranks would be bound to (src/world/gpu.ts nodeGpuCount), modelled when NVML cannot read them. */
export function energyPlan(report: CapabilityReport, profile: EnergyProfile, nodeGpus: number): EnergyPlan {
  const measured: string[] = [];
  const modelled: string[] = [];
  const gpus = report.gpus;
  if (report.backends.nvml.usable && gpus.length) {
    const counters = gpus.filter((g) => g.energyCounter).length;
    measured.push(`GPU by nvml (${gpus.length} GPU${gpus.length > 1 ? 's' : ''}, ${counters === gpus.length ? 'energy counters' : `${counters} with an energy counter, the rest from power readings`})`);
  }
  const gpusModelled = !(report.backends.nvml.usable && gpus.length) && nodeGpus > 0;
  if (gpusModelled) {
    modelled.push(`${nodeGpus} GPU${nodeGpus > 1 ? 's' : ''}: ${profile.gpuTdpW} W × utilization (nvml: ${report.backends.nvml.reason ?? 'no GPU seen'})`);
  }
  const rapl = report.backends.rapl;
  if (rapl.usable) measured.push(`CPU by rapl (${(rapl.domains ?? []).map((d) => d.name).join(', ') || 'zones'}; read by local rank 0, split by CPU time)`);
  else modelled.push(`CPU: ${profile.cpuTdpPerCoreW} W per busy core (rapl: ${rapl.reason ?? 'unusable'})`);
  const figures = `profile ${profile.name}: ${profile.cpuTdpPerCoreW} W per core${gpusModelled ? `, ${profile.gpuTdpW} W per GPU` : ''}, PUE ${profile.pue}, ${profile.carbonGPerKWh} g/kWh${profile.source ? `, ${profile.source.split(':')[0]}` : ''}`;
  const what = measured.length === 0 ? 'model only' : modelled.length === 0 ? `measured: ${measured.join('; ')}` : `measured: ${measured.join('; ')}; the rest modelled`;
  return { measured, modelled, profile, summary: `energy: ${what} — ${figures}` };
}
