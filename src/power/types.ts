// The shapes of energy figures, windows and power records shared by the monitor, attribution and trace.

/** Where an energy figure came from. Only `model` is an estimate; the others are measurements. */
export type EnergySource = 'nvml-counter' | 'nvml-power' | 'rapl' | 'model';

/** A model figure's recipe, so a reader can redo it. */
export interface ModelDescription {
  formula: string;
  inputs: Record<string, number | string>;
}

/** One device's (or domain's) energy over one window. */
export interface EnergyFigure {
  /** gpu0, package-0@intel-rapl:0, dram@intel-rapl:0:0, cpu (the process, for the model). */
  device: string;
  kind: 'gpu' | 'cpu';
  source: EnergySource;
  energyJ: number;
  /** Fraction of the window covered by readings (1 = every part of it lies between two readings). */
  coverage: number;
  meanPowerW: number;
  /** Highest power in the window: the highest reading inside it, at least meanPowerW (monitor.ts peakOf); null when no reading fell inside. */
  peakPowerW: number | null;
  /** Counter wraps (RAPL) and resets (NVML driver reloads) seen during the window. */
  wraps: number;
  resets: number;
  /** Failed reads during the window by NVML return code or -errno, e.g. { "999": 3 }. */
  errors: Record<string, number>;
  /** The window is shorter than the counter's update period: its energy is interpolated between ticks. */
  interpolated: boolean;
  /** RAPL is read once per node: this figure is the node's, to be split between its ranks. */
  nodeLevel: boolean;
  /** Why a GPU's energy comes from power rather than its counter. */
  fallbackReason?: string;
  model?: ModelDescription;
}

export interface WindowResult {
  name: string;
  /** Names of the enclosing windows and this one, joined with '/'. */
  path: string;
  depth: number;
  /** CLOCK_MONOTONIC seconds, the clock the samples carry. */
  startS: number;
  endS: number;
  durationS: number;
  /** Sum of the measured figures (nvml-*, rapl); null when nothing was measured. */
  energyJ: number | null;
  /** Sum of the model figures, for what was not measured; null when everything was. */
  modelEnergyJ: number | null;
  bySource: Partial<Record<EnergySource, number>>;
  /** Mean and peak (at least the mean, as for figures) of the measured power when there is any, else of the model's. */
  meanPowerW: number;
  peakPowerW: number | null;
  /** This process's CPU time in the window (the RAPL split between ranks uses it). */
  cpuTimeS: number;
  interpolated: boolean;
  /** The lowest coverage of the window's figures. */
  coverage: number;
  figures: EnergyFigure[];
}

/** What `world.power` offers: windows around code, nested, with their energy. */
export interface PowerWindows {
  /** Runs `fn` inside a window and resolves with its result and the window's energy. */
  window<T>(name: string, fn: () => T | Promise<T>): Promise<{ result: T; energy: WindowResult }>;
  begin(name: string): void;
  /** Ends the innermost open window; resolves once samples past its end have arrived. */
  end(): Promise<WindowResult>;
}
