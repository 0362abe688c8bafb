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
export {
  OnlineProjector,
  loadTrace,
  projectFromTrace,
  estimateBefore,
  validate as validateEstimates,
  parseEnergyJ,
  type OnlineProjection,
  type OnlineProjectorOptions,
  type EpochObservation,
  type MethodEstimate,
  type TraceProjection,
} from './estimate';
export { init } from './world/init';
export type { RankWorld, BarrierOptions } from './world/runtime';
export type { World, Identity, KeyValue, MetricRecord, GpuBindingRule } from './world/types';
