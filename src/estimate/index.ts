// Energy estimation: trace import, the published methods, PRE, validation and the online projector.
export { loadTrace, type LoadedTrace, type LoadTraceOptions } from './import';
export { parsePowerCsv, parseEpochsCsv, readRunTrace } from './import';
export { traceEnergy, epochEnergies, type PowerTrace, type PowerSeries, type EpochSpan, type TraceIssue } from './trace';
export { stabilizingPoint, findRegimeChange, type StabilizingPoint } from './stabilizing-point';
export { projectFromTrace, type TraceProjection } from './from-trace';
export { estimateBefore, type PlannedRun, type BeforeReport } from './before';
export { validate, type Validation } from './validate';
export { OnlineProjector, type OnlineProjection, type OnlineProjectorOptions, type EpochObservation } from './online';
export { parseEnergyJ, parseDurationS } from '../units';
export type { MethodEstimate, MethodName } from './types';
