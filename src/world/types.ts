// The rank-side API every module builds on: identity, rendezvous, logs, metrics, abort and shutdown.
// The launcher issue implements it (src/world/); collectives, power and training consume it.

/** Small values shared through the coordinator (NCCL unique ids, data-plane addresses, ...). */
export interface KeyValue {
  set(key: string, value: string): Promise<void>;
  /** The value, or undefined when nobody has set it yet. */
  get(key: string): Promise<string | undefined>;
  /** Resolves once some rank has set `key`; rejects with code JOULE_TIMEOUT after `timeoutMs`. */
  wait(key: string, timeoutMs?: number): Promise<string>;
}

import type { CpuBindingRule } from './cpu';

/** Which rule chose this rank's GPU, recorded in the run manifest. */
export type GpuBindingRule = 'slurm' | 'local-rank' | 'none';

export interface Identity {
  rank: number;
  size: number;
  localRank: number;
  localSize: number;
  /** Index of this rank's node among the job's nodes. */
  nodeRank: number;
  nodes: number;
  host: string;
  /** The run directory the launcher writes (run.json, events.jsonl, streams). */
  runDir: string;
  /** GPU indices this rank owns (as CUDA/NVML see them after CUDA_VISIBLE_DEVICES), and why. */
  gpus: number[];
  gpuBinding: GpuBindingRule;
  /** The CPUs this rank's threads run on, and why (each local rank gets its share unless told not to). */
  cpus: number[];
  cpuBinding: CpuBindingRule;
}

export interface MetricRecord {
  name: string;
  value: number;
  step?: number;
  [field: string]: unknown;
}

export interface World extends Identity {
  readonly kv: KeyValue;
  barrier(name?: string): Promise<void>;
  /** A line for the run's event log (and the launcher's console, prefixed with the rank). */
  log(message: string, fields?: Record<string, unknown>): void;
  readonly metrics: { record(metric: MetricRecord): void };
  /** Sends a named batch of records to the run directory's `<stream>.jsonl`-like stream, batched. */
  stream(name: string, record: Record<string, unknown>): void;
  /** Tells the coordinator what this rank is doing, so a failure message can say it (e.g. "allreduce #12"). */
  setActivity(activity: string): void;
  /** Called once when the job aborts (another rank failed, a signal, a timeout). */
  onAbort(listener: (reason: Error) => void): void;
  /** Aborts the whole job with `reason`; never returns normally. */
  abort(reason: string): Promise<never>;
  finalize(): Promise<void>;
}
