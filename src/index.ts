// The joule package's public API.
export { JouleError, isJouleError, type JouleErrorCode, type JouleErrorDetails } from './errors';
export { capabilityReport, type CapabilityReport } from './info/report';
export { expandHostlist, compressHostlist, parseTasksPerNode } from './slurm/hostlist';
export {
  cast,
  castAsync,
  castStats,
  castStatsAsync,
  castPaths,
  type CastArray,
  type CastDType,
  type CastOptions,
  type CastPath,
  type CastStats,
  type HalfDType,
} from './precision/cast';
export * from './power';
export { LossScaler, type LossScalerOptions, type LossScalerState, type UnscaleResult, type UpdateResult } from './precision/loss-scaler';
export {
  StaticPolicy,
  type Precision,
  type PrecisionDecision,
  type PrecisionObservation,
  type PrecisionPolicy,
} from './precision/policy';
export { AdaptivePolicy, type AdaptivePolicyOptions, type AdaptivePolicyState, type PrecisionHistoryEntry } from './precision/adaptive-policy';
export { precisionLadder, type Rung } from './precision/ladder';
export { Communicator } from './comm/communicator';
export type { BackendName, CommBuffer, CommWorld, CommunicatorOptions, DType, ReduceOp, ReduceOptions, WirePrecision } from './comm/types';
export { loadProfile, validateProfile, knownProfiles, type ClusterProfile } from './slurm/profile';
export { OnlineProjector, type OnlineProjection, type OnlineProjectorOptions, type EpochObservation } from './estimate/online';
export type { MethodEstimate, TraceProjection } from './estimate';
// Estimation runs after training, not in ranks: these load its modules (CSV parsing, every method) on
// first call, so `require('joule')`, every rank's first line, does not pay about 40 ms of CPU for them.
const estimation = () => require('./estimate') as typeof import('./estimate');
export const loadTrace: typeof import('./estimate').loadTrace = (...args) => estimation().loadTrace(...args);
export const projectFromTrace: typeof import('./estimate').projectFromTrace = (...args) => estimation().projectFromTrace(...args);
export const estimateBefore: typeof import('./estimate').estimateBefore = (...args) => estimation().estimateBefore(...args);
export const validateEstimates: typeof import('./estimate').validate = (...args) => estimation().validate(...args);
export const parseEnergyJ: typeof import('./estimate').parseEnergyJ = (...args) => estimation().parseEnergyJ(...args);
export { init } from './world/init';
export type { RankWorld, BarrierOptions } from './world/runtime';
export type { World, Identity, KeyValue, MetricRecord, GpuBindingRule } from './world/types';
