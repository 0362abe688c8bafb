// `joule info`: what this build and this machine can do, and why not when they can't.
import type { CommandSpec } from '../command';
import type { CapabilityReport } from '../../info/report';
import { formatTable, printJson } from '../output';
import type { EnergyPlan } from '../../info/energy';

interface InfoArgs {
  json: boolean;
  profile: string;
}

function render(report: CapabilityReport, energy: EnergyPlan, backendNames: readonly (keyof CapabilityReport['backends'])[]): string {
  const lines: string[] = [];
  const v = report.versions;
  lines.push(`joule ${v.joule}  node ${v.node}  N-API ${v.napi}  addon ${v.addon} (${report.build.system}, N-API ${report.build.napiVersion})`);
  lines.push(`CUDA kernels: ${report.build.cuda}`);
  lines.push('', 'Backends:');
  lines.push(
    formatTable(
      backendNames.map((name) => {
        const backend = report.backends[name];
        const detail = backend.usable ? backend.library ?? '' : backend.reason ?? '';
        return [`  ${name}`, backend.usable ? 'yes' : 'no', detail];
      }),
    ),
  );
  lines.push('', report.gpus.length ? 'GPUs:' : 'GPUs: none seen by NVML');
  for (const gpu of report.gpus) {
    const limit = gpu.powerLimitW === null ? 'power limit n/a' : `power limit ${gpu.powerLimitW} W`;
    lines.push(`  ${gpu.index}  ${gpu.name}  ${gpu.uuid}  ${limit}  energy counter ${gpu.energyCounter ? 'yes' : 'no'}`);
  }
  if (report.gpus.length && report.backends.nvml.driverVersion) lines.push(`  driver ${report.backends.nvml.driverVersion}`);
  lines.push('', energy.summary);
  for (const line of energy.measured) lines.push(`  measured: ${line}`);
  for (const line of energy.modelled) lines.push(`  modelled: ${line}`);
  lines.push('', `CPU: ${report.cpu.model}, ${report.cpu.cores} cores, SIMD: ${report.cpu.simd.join(' ') || 'none detected'}`);
  if (report.slurm) {
    lines.push('', 'SLURM:');
    lines.push(formatTable(Object.entries(report.slurm).map(([key, value]) => [`  ${key}`, value])));
  } else {
    lines.push('SLURM: not inside a job');
  }
  return lines.join('\n');
}

export const infoCommand: CommandSpec<InfoArgs> = {
  command: 'info',
  describe: 'Report versions, build features, usable backends (and why not), GPUs, CPU and SLURM context',
  options: {
    json: { type: 'boolean', default: false, describe: 'Print the report as JSON' },
    profile: { type: 'string', default: 'local', describe: 'Cluster profile whose figures the energy model would use (a name in slurm/profiles/ or a path)' },
  },
  examples: [
    ['$0 info', 'Human-readable capability report'],
    ['JOULE_NVML_LIBRARY=/opt/nvidia/lib/libnvidia-ml.so.1 $0 info --json', 'Use a site-specific NVML'],
  ],
  handler: async (args) => {
    // Loaded here, not at the top: every command's module is loaded on every start, `joule launch`'s included.
    const { backendNames, capabilityReport } = await import('../../info/report');
    const { energyPlan } = await import('../../info/energy');
    const { loadEnergyProfile } = await import('../../power/profile');
    const { nodeGpuCount } = await import('../../world/gpu');
    const report = await capabilityReport();
    const energy = energyPlan(report, loadEnergyProfile(args.profile), nodeGpuCount());
    if (args.json) printJson({ ...report, energy });
    else process.stdout.write(`${render(report, energy, backendNames)}\n`);
  },
};
