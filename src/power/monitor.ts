// PowerMonitor: runs the native sampler, drains it in batches and turns samples into window energies.
import { JouleError } from '../errors';
import type { NativePowerChannel, NativePowerSamplerStats } from '../native';
import { Accumulator } from './accumulator';
import { defaultEnergyProfile, validateEnergyProfile, type EnergyProfile } from './profile';
import { defaultPowercapRoot, Sampler, sampleFields, type Sample } from './sampler';
import type { EnergyFigure, PowerWindows, WindowResult } from './types';

/** Where power records go: world.stream in a launched job, a JSON-lines file standalone. */
export type PowerSink = (stream: string, record: Record<string, unknown>) => void;

/**
 * A window's peak power: the highest total seen at a reading inside it, and never below its mean (some
 * part of the window drew at least the mean, whatever the readings caught); null when no reading fell inside.
 */
export function peakOf(highestReadingW: number | null, meanPowerW: number): number | null {
  return highestReadingW === null ? null : Math.max(highestReadingW, meanPowerW);
}

export interface PowerMonitorOptions {
  /** Sampling period, default 100 ms (10 ms minimum with GPUs, 1 ms for RAPL alone). */
  periodMs?: number;
  /** NVML indices of the GPUs this process owns. */
  gpus?: number[];
  /** Read the node's RAPL zones: true in exactly one process per node (local rank 0). */
  rapl?: boolean;
  powercapRoot?: string;
  profile?: EnergyProfile;
  sink?: PowerSink;
  /** Stream every sample (the timeline), not only windows and the summary. Default true. */
  streamSamples?: boolean;
  /** How often JavaScript drains the ring, default 250 ms. */
  drainIntervalMs?: number;
  /** Seconds of samples the ring holds between drains, default 60. */
  bufferSeconds?: number;
  /** How often the run so far is written as a power-progress record (what a failed rank leaves), default 2 s. */
  progressIntervalS?: number;
  /** Who is measuring, written into every record. */
  identity?: { rank: number; localRank: number; host: string };
  /**
   * Model this process's CPU energy from its CPU time when no RAPL package counter is read; default true.
   * A node sampler turns it off: its own process is not the workload (src/power/node-sampler.ts).
   */
  modelCpu?: boolean;
}

interface ChannelState {
  info: NativePowerChannel;
  lastTimeS: number;
  lastEnergy?: { t: number; e: number };
  lastPower?: { t: number; p: number };
  lastCpu?: { t: number; c: number };
  wraps: number;
  resets: number;
  /** Mean time between changes of the counter's value: shorter windows are interpolated. */
  updatePeriodS?: number;
  lastChange?: { t: number; e: number };
  /** Power at the latest tick (reading, or counter difference), for the windows' peaks. */
  instantW: number | null;
}

interface OpenWindow {
  name: string;
  path: string;
  depth: number;
  startS: number;
  endS?: number;
  acc: Accumulator[];
  peakMeasuredW: number | null;
  peakModelW: number | null;
  /** Time spent in compute/comm phases that have ended, within this window (the GPU model's utilization). */
  busyS: number;
  done?: (result: WindowResult) => void;
}

const busyPhases = new Set(['compute', 'comm']);

export function monotonicS(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

function jsonNumber(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

export class PowerMonitor implements PowerWindows {
  readonly profile: EnergyProfile;
  private sampler?: Sampler;
  private channels: ChannelState[] = [];
  private readonly stack: OpenWindow[] = [];
  /** Ended windows waiting for samples past their end, plus the whole-run window. */
  private readonly pending: OpenWindow[] = [];
  private run?: OpenWindow;
  private timer?: NodeJS.Timeout;
  private periodS = 0.1;
  private phasesSeen = false;
  private lastTickS = -Infinity;
  private tickWaiters: { afterS: number; resolve: () => void }[] = [];
  private pollTimer?: NodeJS.Timeout;
  private lastKickS = -Infinity;
  private stopped = false;
  private lastProgressS = -Infinity;
  private readonly options: Required<Omit<PowerMonitorOptions, 'sink' | 'identity' | 'profile'>>;

  constructor(private readonly opts: PowerMonitorOptions = {}) {
    this.profile = validateEnergyProfile(opts.profile ?? defaultEnergyProfile);
    this.options = {
      periodMs: opts.periodMs ?? 100,
      gpus: opts.gpus ?? [],
      rapl: opts.rapl ?? false,
      powercapRoot: opts.powercapRoot ?? defaultPowercapRoot(),
      streamSamples: opts.streamSamples ?? true,
      drainIntervalMs: opts.drainIntervalMs ?? 250,
      bufferSeconds: opts.bufferSeconds ?? 60,
      progressIntervalS: opts.progressIntervalS ?? 2,
      modelCpu: opts.modelCpu ?? true,
    };
  }

  /** Starts sampling; resolves once the first sample of every channel is in. */
  async start(): Promise<this> {
    if (this.sampler) throw new JouleError('JOULE_BAD_ARGUMENT', 'PowerMonitor.start() called twice');
    const sampler = await Sampler.start({
      periodMs: this.options.periodMs,
      gpus: this.options.gpus,
      rapl: this.options.rapl,
      powercapRoot: this.options.powercapRoot,
      bufferSeconds: this.options.bufferSeconds,
    });
    this.sampler = sampler;
    this.periodS = sampler.stats().periodS;
    this.channels = sampler.channels.map((info) => ({ info, lastTimeS: -Infinity, wraps: 0, resets: 0, instantW: null }));
    this.emit('power', {
      type: 'power-channels',
      clock: { monotonicS: monotonicS(), epochMs: Date.now() },
      periodS: this.periodS,
      channels: sampler.channels,
      unavailable: this.unavailable(),
      fields: sampleFields,
      nvml: sampler.nvml,
      profile: this.profile,
    });
    this.timer = setInterval(() => this.drain(), this.options.drainIntervalMs);
    this.timer.unref();
    // The thread takes its first tick as it starts, so it is usually in already: no poll period lost waiting.
    this.drain();
    if (!Number.isFinite(this.lastTickS)) await this.nextTick(-Infinity);
    this.run = this.open('run', 'run', 0, monotonicS());
    return this;
  }

  /** Sources that could not be used, each with the reason (NVML missing, RAPL unreadable, ...). */
  unavailable(): { source: string; reason: string }[] {
    return this.sampler?.unavailable ?? [];
  }

  channelInfo(): NativePowerChannel[] {
    return this.channels.map((c) => c.info);
  }

  stats(): NativePowerSamplerStats {
    return this.requireSampler().stats();
  }

  begin(name: string): void {
    const at = monotonicS();
    this.requireSampler();
    this.kick(at);
    const parent = this.stack[this.stack.length - 1];
    const path = parent ? `${parent.path}/${name}` : name;
    this.stack.push(this.open(name, path, this.stack.length, at));
  }

  end(): Promise<WindowResult> {
    const window = this.stack.pop();
    if (!window) return Promise.reject(new JouleError('JOULE_BAD_ARGUMENT', 'power end() without an open window'));
    return this.close(window, monotonicS());
  }

  async window<T>(name: string, fn: () => T | Promise<T>): Promise<{ result: T; energy: WindowResult }> {
    this.begin(name);
    const depth = this.stack.length;
    try {
      const result = await fn();
      if (this.stack.length !== depth) throw new JouleError('JOULE_BAD_ARGUMENT', `power window "${name}": a window opened inside it was not ended`);
      return { result, energy: await this.end() };
    } catch (error) {
      while (this.stack.length >= depth) void this.end();
      throw error;
    }
  }

  /**
   * Measures the idle power for `durationS` (nothing else should run meanwhile), so a summary can
   * split static from dynamic energy.
   */
  async measureIdle(durationS: number): Promise<WindowResult> {
    if (!(durationS > 0)) throw new JouleError('JOULE_BAD_ARGUMENT', `idle baseline must last more than 0 s, got ${durationS}`);
    this.begin('idle-baseline');
    await new Promise((resolve) => setTimeout(resolve, durationS * 1000));
    return this.end();
  }

  /** Ends every open window and the run, stops the sampler, and returns the run's energy. */
  async stop(): Promise<{ run: WindowResult; stats: NativePowerSamplerStats }> {
    const sampler = this.requireSampler();
    if (this.stopped) throw new JouleError('JOULE_BAD_ARGUMENT', 'PowerMonitor.stop() called twice');
    this.stopped = true;
    const at = monotonicS();
    const closing = this.stack.splice(0).reverse().map((w) => this.close(w, at));
    const run = this.close(this.run!, at);
    await Promise.all(closing);
    const result = await run;
    clearInterval(this.timer);
    sampler.stop();
    this.drain();
    const stats = sampler.stats();
    this.emit('power', { type: 'power-run', ...result, stats });
    return { run: result, stats };
  }

  /**
   * Writes the run so far (up to the last sample) as a power-progress record: a rank that dies never
   * writes its power-run record, and the run's energy then counts up to its last progress.
   */
  progress(): void {
    if (!this.run || this.stopped) return;
    // Every sample taken so far first (drain comes back here only once the interval has passed again).
    const previousS = this.lastProgressS;
    this.lastProgressS = Infinity;
    this.drain();
    if (!Number.isFinite(this.lastTickS) || this.lastTickS <= this.run.startS) {
      this.lastProgressS = previousS;
      // No reading since the run began (a rank aborted in its first moments): ask for one, write then.
      this.sampler?.kick();
      void this.nextTick(this.run.startS).then(() => this.progress());
      return;
    }
    this.lastProgressS = this.lastTickS;
    this.emit('power', { type: 'power-progress', ...this.result({ ...this.run, endS: this.lastTickS }) });
  }

  /** Stops the monitor unless already stopped: what a World runs for its attached modules at finalize. */
  async finalize(): Promise<void> {
    if (this.sampler && !this.stopped) await this.stop();
  }

  private requireSampler(): Sampler {
    if (!this.sampler) throw new JouleError('JOULE_BAD_ARGUMENT', 'PowerMonitor used before start()');
    return this.sampler;
  }

  private emit(stream: string, record: Record<string, unknown>): void {
    if (this.opts.sink) this.opts.sink(stream, { ...record, ...this.opts.identity });
  }

  private open(name: string, path: string, depth: number, startS: number): OpenWindow {
    return {
      name,
      path,
      depth,
      startS,
      acc: this.channels.map(() => new Accumulator(startS)),
      peakMeasuredW: null,
      peakModelW: null,
      busyS: 0,
    };
  }

  private close(window: OpenWindow, endS: number): Promise<WindowResult> {
    window.endS = endS;
    this.pending.push(window);
    const result = new Promise<WindowResult>((resolve) => (window.done = resolve));
    this.kick(endS);
    // A sample past the end is due within a period (sooner, after a kick); the drain that brings it finishes the window.
    void this.nextTick(endS);
    return result;
  }

  /**
   * Asks for a sample now, so a window boundary has a reading right next to it; at most one per
   * tenth of a period (and per ms), so thousands of tiny windows a second cost a few samples, not thousands.
   */
  private kick(atS: number): void {
    if (atS - this.lastKickS < Math.max(0.001, this.periodS / 10)) return;
    this.lastKickS = atS;
    this.sampler?.kick();
  }

  /** Resolves after a drain brings a tick later than `afterS`; one poll timer serves every waiter. */
  private nextTick(afterS: number): Promise<void> {
    return new Promise((resolve) => {
      this.tickWaiters.push({ afterS, resolve });
      this.schedulePoll();
    });
  }

  private schedulePoll(): void {
    if (this.pollTimer || this.tickWaiters.length === 0) return;
    // The thread's first tick and a kicked tick are taken at once: look for them every millisecond (the first
    // until it is in, a kicked one once), not every fifth of a period.
    const soon = !Number.isFinite(this.lastTickS) || monotonicS() - this.lastKickS < 0.001;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      this.drain();
      this.schedulePoll();
    }, soon ? 1 : Math.max(1, Math.min(20, this.periodS * 500)));
  }

  private active(): OpenWindow[] {
    return this.run ? [this.run, ...this.stack, ...this.pending.filter((w) => w !== this.run)] : [...this.stack, ...this.pending];
  }

  /** Moves pending samples from the ring into the open windows and finishes the windows they complete. */
  private drain(): void {
    if (!this.sampler) return;
    const samples = this.sampler.drain();
    if (samples.length === 0) return;
    const windows = this.active();
    let tickS = NaN;
    for (const sample of samples) {
      if (sample.timeS !== tickS) {
        if (Number.isFinite(tickS)) this.finishTick(tickS, windows);
        tickS = sample.timeS;
      }
      this.apply(sample, windows);
    }
    this.finishTick(tickS, windows);
    if (this.options.streamSamples) {
      this.emit('power', { type: 'power-samples', fields: sampleFields, rows: samples.map((s) => sampleFields.map((f) => jsonNumber(s[f]))) });
    }
    this.finishWindows();
    this.lastTickS = tickS;
    if (tickS - this.lastProgressS >= this.options.progressIntervalS) this.progress();
    this.tickWaiters = this.tickWaiters.filter((w) => {
      if (this.lastTickS > w.afterS) w.resolve();
      return this.lastTickS <= w.afterS;
    });
  }

  /** A RAPL package counter measures the CPU; without one (DRAM alone, or none) the CPU model stands. */
  private measuresCpuPackage(): boolean {
    return this.channels.some((c) => c.info.kind === 'rapl' && c.info.label.startsWith('package'));
  }

  private maxGapS(): number {
    return 2.5 * this.periodS + 0.02;
  }

  private apply(sample: Sample, windows: OpenWindow[]): void {
    const state = this.channels[sample.channel];
    const index = sample.channel;
    const t = sample.timeS;
    state.instantW = null;
    if (Number.isFinite(sample.energyJ)) {
      const last = state.lastEnergy;
      if (last) {
        for (const w of windows) w.acc[index].addCounter(last.t, last.e, t, sample.energyJ, w.endS ?? Infinity);
        if (t > last.t) state.instantW = (sample.energyJ - last.e) / (t - last.t);
      }
      this.trackUpdates(state, t, sample.energyJ);
      state.lastEnergy = { t, e: sample.energyJ };
    }
    if (Number.isFinite(sample.powerW)) {
      const last = state.lastPower;
      if (last) for (const w of windows) w.acc[index].addPower(last.t, last.p, t, sample.powerW, w.endS ?? Infinity, this.maxGapS());
      state.lastPower = { t, p: sample.powerW };
      state.instantW = sample.powerW;
    }
    if (Number.isFinite(sample.cpuTimeS)) {
      const last = state.lastCpu;
      if (last) {
        for (const w of windows) w.acc[index].addCpuTime(last.t, last.c, t, sample.cpuTimeS, w.endS ?? Infinity);
        if (t > last.t) state.instantW = ((sample.cpuTimeS - last.c) / (t - last.t)) * this.profile.cpuTdpPerCoreW;
      }
      state.lastCpu = { t, c: sample.cpuTimeS };
    }
    const wraps = Number.isFinite(sample.wraps) ? sample.wraps - state.wraps : 0;
    const resets = Number.isFinite(sample.resets) ? sample.resets - state.resets : 0;
    const errors = [sample.energyStatus, sample.powerStatus].filter((code) => Number.isFinite(code) && code !== 0);
    for (const w of windows) {
      const acc = w.acc[index];
      const endS = w.endS ?? Infinity;
      // A wrap or reset happened somewhere between the previous reading and this one.
      if ((wraps > 0 || resets > 0) && t >= acc.startS && state.lastTimeS <= endS) {
        acc.wraps += wraps;
        acc.resets += resets;
      }
      acc.addReading(t, endS, state.instantW, errors);
    }
    if (Number.isFinite(sample.wraps)) state.wraps = sample.wraps;
    if (Number.isFinite(sample.resets)) state.resets = sample.resets;
    state.lastTimeS = t;
  }

  private trackUpdates(state: ChannelState, t: number, energyJ: number): void {
    const change = state.lastChange;
    if (change && energyJ === change.e) return;
    if (change) {
      const interval = t - change.t;
      state.updatePeriodS = state.updatePeriodS === undefined ? interval : 0.9 * state.updatePeriodS + 0.1 * interval;
    }
    state.lastChange = { t, e: energyJ };
  }

  /** The measured and modelled total power at one tick, for the windows' peaks. */
  private finishTick(t: number, windows: OpenWindow[]): void {
    let measured: number | null = null;
    let model = 0;
    const hasRapl = this.measuresCpuPackage();
    for (const state of this.channels) {
      if (state.instantW === null || state.lastTimeS !== t) continue;
      if (state.info.kind === 'process') {
        if (!hasRapl) model += state.instantW;
      } else {
        measured = (measured ?? 0) + state.instantW;
      }
    }
    for (const w of windows) {
      if (t < w.startS || t > (w.endS ?? Infinity)) continue;
      if (measured !== null) w.peakMeasuredW = Math.max(w.peakMeasuredW ?? -Infinity, measured);
      if (model > 0) w.peakModelW = Math.max(w.peakModelW ?? -Infinity, model);
    }
  }

  private finishWindows(): void {
    const complete = (w: OpenWindow) => this.channels.every((c) => c.lastTimeS >= w.endS!);
    const ready = this.pending.filter(complete).sort((a, b) => a.endS! - b.endS! || b.depth - a.depth);
    for (const window of ready) {
      this.pending.splice(this.pending.indexOf(window), 1);
      const result = this.result(window);
      if (busyPhases.has(window.name)) {
        this.phasesSeen = true;
        for (const other of this.active()) other.busyS += Math.max(0, Math.min(window.endS!, other.endS ?? Infinity) - Math.max(window.startS, other.startS));
      }
      if (window !== this.run) this.emit('power', { type: 'power-window', ...result });
      window.done?.(result);
    }
  }

  private result(window: OpenWindow): WindowResult {
    const endS = window.endS!;
    const durationS = endS - window.startS;
    const figures: EnergyFigure[] = [];
    const hasRapl = this.measuresCpuPackage();
    let cpuTimeS = 0;
    this.channels.forEach((state, index) => {
      const acc = window.acc[index];
      const coverage = (coveredS: number) => (durationS > 0 ? Math.min(1, coveredS / durationS) : 1);
      const base = {
        device: state.info.label,
        peakPowerW: acc.peakPowerW,
        wraps: acc.wraps,
        resets: acc.resets,
        errors: acc.errors,
        interpolated: acc.readingsInside === 0 || (state.updatePeriodS !== undefined && durationS < state.updatePeriodS),
      };
      const mean = (energyJ: number) => (durationS > 0 ? energyJ / durationS : 0);
      if (state.info.kind === 'gpu') {
        const counter = state.info.energyCounter && acc.counterCoveredS > 0 && acc.counterCoveredS >= acc.powerCoveredS;
        const energyJ = counter ? acc.counterJ : acc.powerJ;
        figures.push({
          ...base,
          kind: 'gpu',
          source: counter ? 'nvml-counter' : 'nvml-power',
          energyJ,
          coverage: coverage(counter ? acc.counterCoveredS : acc.powerCoveredS),
          meanPowerW: mean(energyJ),
          nodeLevel: false,
          ...(counter ? {} : { fallbackReason: state.info.energyFallback ?? 'the energy counter gave no readings around this window' }),
        });
      } else if (state.info.kind === 'rapl') {
        figures.push({ ...base, kind: 'cpu', source: 'rapl', energyJ: acc.counterJ, coverage: coverage(acc.counterCoveredS), meanPowerW: mean(acc.counterJ), nodeLevel: true });
      } else {
        cpuTimeS = acc.cpuTimeS;
        if (!hasRapl && this.options.modelCpu) {
          const energyJ = acc.cpuTimeS * this.profile.cpuTdpPerCoreW;
          figures.push({
            ...base,
            device: 'cpu',
            kind: 'cpu',
            source: 'model',
            energyJ,
            coverage: coverage(acc.cpuCoveredS),
            meanPowerW: mean(energyJ),
            nodeLevel: false,
            model: {
              formula: 'energyJ = cpuTimeS × cpuTdpPerCoreW',
              inputs: { cpuTimeS: acc.cpuTimeS, cpuTdpPerCoreW: this.profile.cpuTdpPerCoreW, profile: this.profile.name },
            },
          });
        }
      }
    });
    figures.push(...this.gpuModelFigures(window));
    for (const figure of figures) figure.peakPowerW = peakOf(figure.peakPowerW, figure.meanPowerW);
    return this.summarise(window, durationS, cpuTimeS, figures);
  }

  /** GPUs this process owns but cannot measure (NVML absent): utilization × TDP. */
  private gpuModelFigures(window: OpenWindow): EnergyFigure[] {
    const durationS = window.endS! - window.startS;
    const measured = new Set(this.channels.filter((c) => c.info.kind === 'gpu').map((c) => c.info.gpuIndex));
    const busy = this.phasesSeen && durationS > 0 ? Math.min(1, window.busyS / durationS) : null;
    const utilization = busy ?? 1;
    return this.options.gpus
      .filter((gpu) => !measured.has(gpu))
      .map((gpu) => {
        const energyJ = this.profile.gpuTdpW * utilization * durationS;
        return {
          device: `gpu${gpu}`,
          kind: 'gpu' as const,
          source: 'model' as const,
          energyJ,
          coverage: 1,
          meanPowerW: durationS > 0 ? energyJ / durationS : 0,
          peakPowerW: null,
          wraps: 0,
          resets: 0,
          errors: {},
          interpolated: false,
          nodeLevel: false,
          model: {
            formula: 'energyJ = gpuTdpW × utilization × durationS',
            inputs: {
              gpuTdpW: this.profile.gpuTdpW,
              utilization,
              utilizationFrom: busy === null ? 'assumed 1 (no compute/comm phases recorded): an upper bound' : 'share of time in compute/comm phases',
              durationS,
              profile: this.profile.name,
            },
          },
        };
      });
  }

  private summarise(window: OpenWindow, durationS: number, cpuTimeS: number, figures: EnergyFigure[]): WindowResult {
    const bySource: WindowResult['bySource'] = {};
    let measuredJ: number | null = null;
    let modelJ: number | null = null;
    for (const figure of figures) {
      bySource[figure.source] = (bySource[figure.source] ?? 0) + figure.energyJ;
      if (figure.source === 'model') modelJ = (modelJ ?? 0) + figure.energyJ;
      else measuredJ = (measuredJ ?? 0) + figure.energyJ;
    }
    const shownJ = measuredJ ?? modelJ ?? 0;
    return {
      name: window.name,
      path: window.path,
      depth: window.depth,
      startS: window.startS,
      endS: window.endS!,
      durationS,
      energyJ: measuredJ,
      modelEnergyJ: modelJ,
      bySource,
      meanPowerW: durationS > 0 ? shownJ / durationS : 0,
      peakPowerW: peakOf(measuredJ !== null ? window.peakMeasuredW : window.peakModelW, durationS > 0 ? shownJ / durationS : 0),
      cpuTimeS,
      interpolated: figures.some((f) => f.interpolated),
      coverage: figures.length ? Math.min(...figures.map((f) => f.coverage)) : 0,
      figures,
    };
  }
}
