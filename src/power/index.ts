// The power module's public surface: the monitor and its windows, attribution, records and trace export.
export { PowerMonitor, monotonicS, type PowerMonitorOptions, type PowerSink } from './monitor';
export { attribute, type Attribution, type EnergyTotals, type NodeEnergy, type RankPower, type RankShare } from './attribution';
export { defaultEnergyProfile, energyProfileFrom, loadEnergyProfile, validateEnergyProfile, type EnergyProfile } from './profile';
export { energySummary, jsonlSink, readRecords } from './records';
export { runPower, type ChannelSamples, type RunPower } from './run-samples';
export { chromeTrace } from './trace';
export type { EnergyFigure, EnergySource, ModelDescription, PowerWindows, WindowResult } from './types';
export { attachPower, energyProfileFromEnv, idleBaselineFromEnv, type PowerHost, type WorldPowerOptions } from './world';
export { parseDurationS } from '../units';
