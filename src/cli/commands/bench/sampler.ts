// `joule bench sampler`: the power sampler thread's CPU time at several rates, as a share of one core.
import os from 'node:os';
import type { CommandSpec } from '../../command';
import { JouleError } from '../../../errors';
import { PowerMonitor } from '../../../power/monitor';
import { defaultPowercapRoot } from '../../../power/sampler';
import { formatTable, printJson } from '../../output';

interface SamplerBenchArgs {
  rates: string;
  duration: number;
  gpus: string;
  rapl: boolean;
  json: boolean;
}

export interface SamplerBenchRow {
  rateHz: number;
  durationS: number;
  ticks: number;
  expectedTicks: number;
  samples: number;
  overrunSamples: number;
  /** CPU time of the sampler thread (pthread_getcpuclockid) over the wall time: a share of one core. */
  threadCpuTimeS: number;
  threadCoreShare: number;
  threadCpuPerTickUs: number;
  /** The whole process (sampler thread + JavaScript draining and integrating) over the same time. */
  processCoreShare: number;
  channels: string[];
  loadAverage: number[];
}

function parseList(text: string, what: string, integer: boolean): number[] {
  if (text.trim() === '') return [];
  return text.split(',').map((part) => {
    const value = Number(part);
    if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
      throw new JouleError('JOULE_BAD_ARGUMENT', `--${what}: "${part}" is not a ${integer ? 'non-negative integer' : 'positive number'}`);
    }
    return value;
  });
}

async function measureRate(rateHz: number, durationS: number, gpus: number[], rapl: boolean): Promise<SamplerBenchRow> {
  const monitor = new PowerMonitor({ periodMs: 1000 / rateHz, gpus, rapl, powercapRoot: defaultPowercapRoot(), streamSamples: false });
  await monitor.start();
  // An explicit request that cannot be met is an error that says why, not a benchmark of nothing.
  const kinds = new Set(monitor.channelInfo().map((c) => c.kind));
  const missing = [...(gpus.length && !kinds.has('gpu') ? ['nvml'] : []), ...(rapl && !kinds.has('rapl') ? ['rapl'] : [])];
  if (missing.length) {
    await monitor.stop();
    const why = (source: string) => monitor.unavailable().find((u) => u.source === source)?.reason ?? 'no channel';
    throw new JouleError('JOULE_BACKEND_UNAVAILABLE', missing.map((source) => `${source === 'nvml' ? `--gpus ${gpus.join(',')}` : '--rapl'}: ${why(source)}`).join('; '));
  }
  const wall0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const thread0 = monitor.stats().threadCpuTimeS;
  const ticks0 = monitor.stats().ticks;
  await new Promise((resolve) => setTimeout(resolve, durationS * 1000));
  const stats = monitor.stats();
  const cpu = process.cpuUsage(cpu0);
  const wallS = Number(process.hrtime.bigint() - wall0) / 1e9;
  await monitor.stop();
  const ticks = stats.ticks - ticks0;
  const threadCpuTimeS = stats.threadCpuTimeS - thread0;
  return {
    rateHz,
    durationS: wallS,
    ticks,
    expectedTicks: Math.round(wallS * rateHz),
    samples: stats.samples,
    overrunSamples: stats.overrunSamples,
    threadCpuTimeS,
    threadCoreShare: threadCpuTimeS / wallS,
    threadCpuPerTickUs: ticks > 0 ? (threadCpuTimeS / ticks) * 1e6 : 0,
    processCoreShare: (cpu.user + cpu.system) / 1e6 / wallS,
    channels: monitor.channelInfo().map((c) => c.label),
    loadAverage: os.loadavg(),
  };
}

export const samplerBenchCommand: CommandSpec<SamplerBenchArgs> = {
  command: 'sampler',
  describe: 'CPU cost of the power sampler thread at several sampling rates (share of one core)',
  options: {
    rates: { type: 'string', default: '10,100', describe: 'Sampling rates in Hz, comma-separated' },
    duration: { type: 'number', default: 30, describe: 'Seconds per rate' },
    gpus: { type: 'string', default: '', describe: 'NVML GPU indices to sample, comma-separated (e.g. 0,1)' },
    rapl: { type: 'boolean', default: false, describe: 'Also read the RAPL zones of JOULE_POWERCAP_ROOT or /sys/class/powercap' },
    json: { type: 'boolean', default: false, describe: 'Print the rows as JSON' },
  },
  examples: [
    ['JOULE_NVML_LIBRARY=build/test-fakes/libnvidia-ml.so.1 $0 bench sampler --gpus 0,1', 'With the fake NVML (npm run bench:sampler)'],
    ['$0 bench sampler --rates 1,10,100,1000 --duration 10 --rapl', 'RAPL only, up to 1 kHz'],
  ],
  handler: async (args) => {
    const rates = parseList(args.rates, 'rates', false);
    const gpus = args.gpus.trim() === '' ? [] : args.gpus.split(',').map((g) => {
      const value = Number(g);
      if (!Number.isInteger(value) || value < 0) throw new JouleError('JOULE_BAD_ARGUMENT', `--gpus: "${g}" is not a GPU index`);
      return value;
    });
    if (!(args.duration > 0)) throw new JouleError('JOULE_BAD_ARGUMENT', `--duration must be positive, got ${args.duration}`);
    const rows: SamplerBenchRow[] = [];
    for (const rate of rates) {
      process.stderr.write(`sampler bench: ${rate} Hz for ${args.duration} s...\n`);
      rows.push(await measureRate(rate, args.duration, gpus, args.rapl));
    }
    if (args.json) {
      printJson({ cores: os.cpus().length, rows });
      return;
    }
    const pct = (share: number) => `${(share * 100).toFixed(3)} %`;
    process.stdout.write(
      `${formatTable([
        ['rate Hz', 'ticks', 'expected', 'overruns', 'thread CPU s', 'thread core', 'µs/tick', 'process core', 'channels'],
        ...rows.map((r) => [
          String(r.rateHz), String(r.ticks), String(r.expectedTicks), String(r.overrunSamples), r.threadCpuTimeS.toFixed(4),
          pct(r.threadCoreShare), r.threadCpuPerTickUs.toFixed(1), pct(r.processCoreShare), r.channels.join(' '),
        ]),
      ])}\nload average (1, 5, 15 min) at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`,
    );
  },
};
