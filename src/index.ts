// The joule package's public API. What every rank needs to start (init, errors) loads with
// require('joule'); everything else loads on first use, so a rank that joins, synchronizes and leaves
// does not pay about 20 ms of CPU for casts, precision policies, power reports and estimation.
import type * as Cast from './precision/cast';
import type * as Power from './power';
import type * as LossScalerModule from './precision/loss-scaler';
import type * as Policy from './precision/policy';
import type * as AdaptivePolicyModule from './precision/adaptive-policy';
import type * as Ladder from './precision/ladder';
import type * as CommunicatorModule from './comm/communicator';
import type * as Hostlist from './slurm/hostlist';
import type * as Profile from './slurm/profile';
import type * as Online from './estimate/online';
import type * as Info from './info/report';
import type * as Estimation from './estimate';

export { JouleError, isJouleError, type JouleErrorCode, type JouleErrorDetails } from './errors';
export { init } from './world/init';
export type { RankWorld, BarrierOptions } from './world/runtime';
export type { World, Identity, KeyValue, MetricRecord, GpuBindingRule } from './world/types';
export type { CapabilityReport } from './info/report';
export type { CastArray, CastDType, CastOptions, CastPath, CastStats, HalfDType } from './precision/cast';
export type * from './power';
export type { LossScalerOptions, LossScalerState, UnscaleResult, UpdateResult } from './precision/loss-scaler';
export type { Precision, PrecisionDecision, PrecisionObservation, PrecisionPolicy } from './precision/policy';
export type { AdaptivePolicyOptions, AdaptivePolicyState, PrecisionHistoryEntry } from './precision/adaptive-policy';
export type { Rung } from './precision/ladder';
export type { BackendName, CommBuffer, CommWorld, CommunicatorOptions, DType, ReduceOp, ReduceOptions, WirePrecision } from './comm/types';
export type { ClusterProfile } from './slurm/profile';
export type { OnlineProjection, OnlineProjectorOptions, EpochObservation } from './estimate/online';
export type { MethodEstimate, TraceProjection } from './estimate';

/** Makes `names` exports of this module that load `load`'s module on first access. */
function onFirstUse<M extends object>(load: () => M, names: readonly (keyof M & string)[]): void {
  // module.exports, not exports: a transpiler (tsx in the tests) may have replaced the object by now.
  for (const name of names) Object.defineProperty(module.exports, name, { enumerable: true, get: () => load()[name] });
}

export declare const capabilityReport: typeof Info.capabilityReport;
onFirstUse(() => require('./info/report') as typeof Info, ['capabilityReport']);

export declare const expandHostlist: typeof Hostlist.expandHostlist;
export declare const compressHostlist: typeof Hostlist.compressHostlist;
export declare const parseTasksPerNode: typeof Hostlist.parseTasksPerNode;
onFirstUse(() => require('./slurm/hostlist') as typeof Hostlist, ['expandHostlist', 'compressHostlist', 'parseTasksPerNode']);

export declare const cast: typeof Cast.cast;
export declare const castAsync: typeof Cast.castAsync;
export declare const castStats: typeof Cast.castStats;
export declare const castStatsAsync: typeof Cast.castStatsAsync;
export declare const castPaths: typeof Cast.castPaths;
onFirstUse(() => require('./precision/cast') as typeof Cast, ['cast', 'castAsync', 'castStats', 'castStatsAsync', 'castPaths']);

export declare const PowerMonitor: typeof Power.PowerMonitor;
export declare const monotonicS: typeof Power.monotonicS;
export declare const attribute: typeof Power.attribute;
export declare const defaultEnergyProfile: typeof Power.defaultEnergyProfile;
export declare const energyProfileFrom: typeof Power.energyProfileFrom;
export declare const loadEnergyProfile: typeof Power.loadEnergyProfile;
export declare const validateEnergyProfile: typeof Power.validateEnergyProfile;
export declare const energySummary: typeof Power.energySummary;
export declare const jsonlSink: typeof Power.jsonlSink;
export declare const runPower: typeof Power.runPower;
export declare const readRecords: typeof Power.readRecords;
export declare const chromeTrace: typeof Power.chromeTrace;
export declare const attachPower: typeof Power.attachPower;
export declare const energyProfileFromEnv: typeof Power.energyProfileFromEnv;
export declare const idleBaselineFromEnv: typeof Power.idleBaselineFromEnv;
export declare const parseDurationS: typeof Power.parseDurationS;
export type PowerMonitor = Power.PowerMonitor;
onFirstUse(() => require('./power') as typeof Power, [
  'PowerMonitor', 'monotonicS', 'attribute', 'defaultEnergyProfile', 'energyProfileFrom', 'loadEnergyProfile', 'validateEnergyProfile', 'energySummary',
  'jsonlSink', 'runPower', 'readRecords', 'chromeTrace', 'attachPower', 'energyProfileFromEnv', 'idleBaselineFromEnv', 'parseDurationS',
]);

export declare const LossScaler: typeof LossScalerModule.LossScaler;
export type LossScaler = LossScalerModule.LossScaler;
onFirstUse(() => require('./precision/loss-scaler') as typeof LossScalerModule, ['LossScaler']);

export declare const StaticPolicy: typeof Policy.StaticPolicy;
export type StaticPolicy = Policy.StaticPolicy;
onFirstUse(() => require('./precision/policy') as typeof Policy, ['StaticPolicy']);

export declare const AdaptivePolicy: typeof AdaptivePolicyModule.AdaptivePolicy;
export type AdaptivePolicy = AdaptivePolicyModule.AdaptivePolicy;
onFirstUse(() => require('./precision/adaptive-policy') as typeof AdaptivePolicyModule, ['AdaptivePolicy']);

export declare const precisionLadder: typeof Ladder.precisionLadder;
onFirstUse(() => require('./precision/ladder') as typeof Ladder, ['precisionLadder']);

export declare const Communicator: typeof CommunicatorModule.Communicator;
export type Communicator = CommunicatorModule.Communicator;
onFirstUse(() => require('./comm/communicator') as typeof CommunicatorModule, ['Communicator']);

export declare const loadProfile: typeof Profile.loadProfile;
export declare const validateProfile: typeof Profile.validateProfile;
export declare const knownProfiles: typeof Profile.knownProfiles;
onFirstUse(() => require('./slurm/profile') as typeof Profile, ['loadProfile', 'validateProfile', 'knownProfiles']);

export declare const OnlineProjector: typeof Online.OnlineProjector;
export type OnlineProjector = Online.OnlineProjector;
onFirstUse(() => require('./estimate/online') as typeof Online, ['OnlineProjector']);

export declare const loadTrace: typeof Estimation.loadTrace;
export declare const projectFromTrace: typeof Estimation.projectFromTrace;
export declare const estimateBefore: typeof Estimation.estimateBefore;
export declare const parseEnergyJ: typeof Estimation.parseEnergyJ;
onFirstUse(() => require('./estimate') as typeof Estimation, ['loadTrace', 'projectFromTrace', 'estimateBefore', 'parseEnergyJ']);
export const validateEstimates: typeof Estimation.validate = (...args) => (require('./estimate') as typeof Estimation).validate(...args);
