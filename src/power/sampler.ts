// The native sampler behind a typed wrapper: options checked here, rows decoded into samples.
import { readEnv } from '../env';
import { JouleError } from '../errors';
import { native, type NativePowerChannel, type NativePowerSampler, type NativePowerSamplerStart, type NativePowerSamplerStats } from '../native';

export interface SamplerOptions {
  /** Sampling period; at least 10 ms when GPUs are sampled (NVML power updates no faster), 1 ms otherwise. */
  periodMs: number;
  gpus: number[];
  /** Read the node's RAPL zones (one process per node should). */
  rapl: boolean;
  powercapRoot: string;
  /** The ring holds this many seconds of samples, so a busy event loop loses none. */
  bufferSeconds: number;
}

export interface Sample {
  timeS: number;
  channel: number;
  energyJ: number;
  powerW: number;
  utilizationPct: number;
  smClockMHz: number;
  temperatureC: number;
  cpuTimeS: number;
  energyStatus: number;
  powerStatus: number;
  wraps: number;
  resets: number;
}

export const sampleFields: (keyof Sample)[] = [
  'timeS', 'channel', 'energyJ', 'powerW', 'utilizationPct', 'smClockMHz', 'temperatureC', 'cpuTimeS',
  'energyStatus', 'powerStatus', 'wraps', 'resets',
];

export function defaultPowercapRoot(env: NodeJS.ProcessEnv = process.env): string {
  return readEnv('JOULE_POWERCAP_ROOT', env);
}

function checkOptions(options: SamplerOptions): void {
  const minimumMs = options.gpus.length > 0 ? 10 : 1;
  if (!Number.isFinite(options.periodMs) || options.periodMs < minimumMs || options.periodMs > 60_000) {
    throw new JouleError(
      'JOULE_BAD_ARGUMENT',
      `power sampling period must be between ${minimumMs} ms${options.gpus.length > 0 ? ' (NVML power updates no faster)' : ''} and 60 s, got ${options.periodMs} ms`,
    );
  }
  for (const gpu of options.gpus) {
    if (!Number.isInteger(gpu) || gpu < 0) throw new JouleError('JOULE_BAD_ARGUMENT', `GPU index must be a non-negative integer, got ${gpu}`);
  }
  if (!(options.bufferSeconds > 0)) throw new JouleError('JOULE_BAD_ARGUMENT', `bufferSeconds must be positive, got ${options.bufferSeconds}`);
}

/** A started native sampler. */
export class Sampler {
  private constructor(
    private readonly handle: NativePowerSampler,
    readonly channels: NativePowerChannel[],
    readonly unavailable: NativePowerSamplerStart['unavailable'],
    readonly nvml: { library?: string; driverVersion?: string },
  ) {}

  static async start(options: SamplerOptions): Promise<Sampler> {
    checkOptions(options);
    const handle = new (native().PowerSampler)({
      periodS: options.periodMs / 1000,
      auxPeriodS: Math.max(0.1, options.periodMs / 1000),
      gpus: options.gpus,
      rapl: options.rapl,
      powercapRoot: options.powercapRoot,
      capacityTicks: Math.max(64, Math.ceil((options.bufferSeconds * 1000) / options.periodMs)),
    });
    const started = await handle.start();
    if (started.fields.join() !== sampleFields.join()) {
      handle.stop();
      throw new JouleError('JOULE_NATIVE_ERROR', `the addon's power sample fields (${started.fields.join()}) do not match this build of joule`);
    }
    return new Sampler(handle, started.channels, started.unavailable, { library: started.nvmlLibrary, driverVersion: started.driverVersion });
  }

  /** Every sample taken since the last drain, oldest first; all channels of one tick share timeS. */
  drain(): Sample[] {
    const rows = this.handle.drain();
    const width = sampleFields.length;
    const samples: Sample[] = [];
    for (let offset = 0; offset < rows.length; offset += width) {
      const sample = {} as Sample;
      for (let i = 0; i < width; i++) sample[sampleFields[i]] = rows[offset + i];
      samples.push(sample);
    }
    return samples;
  }

  kick(): void {
    this.handle.kick();
  }

  stats(): NativePowerSamplerStats {
    return this.handle.stats();
  }

  stop(): void {
    this.handle.stop();
  }
}
