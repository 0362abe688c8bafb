// The coordinator's wire protocol: versioned msgpack messages, and the validation that drops anything else.
// The pure-JavaScript build: msgpackr's default entry also loads a native string extractor (msgpackr-extract),
// which costs every process about 20 ms of CPU at start and helps only large string-heavy messages.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Packr } = require('msgpackr/index-no-eval') as typeof import('msgpackr');

/** Bumped on any incompatible change; a message with another version is dropped (and logged). */
export const PROTOCOL_VERSION = 1;

/** How a rank failed, as the coordinator tells every other rank and the launcher prints it. */
export interface FailureInfo {
  rank: number;
  host: string;
  pid?: number;
  /** exit: non-zero exit code; signal: killed; heartbeat: stopped answering; abort: called world.abort; join: never joined; finalize: exited 0 without finalize. */
  kind: 'exit' | 'signal' | 'heartbeat' | 'abort' | 'join' | 'finalize' | 'terminated';
  exitCode?: number;
  signal?: string;
  /** The last World.setActivity() text the coordinator saw from this rank. */
  activity?: string;
  /** The last barrier this rank entered (name#index). */
  lastBarrier?: string;
  /** Free text: the abort reason, the join-timeout list, the signal the launcher received. */
  reason?: string;
  /** Ranks that never joined (join timeout). */
  missingRanks?: number[];
}

export interface PeerInfo {
  rank: number;
  host: string;
  pid: number;
  /** The node the rank was given (SLURM_NODEID, or the launcher's node id, pretend nodes included). */
  nodeRank: number;
}

/** A record a rank sends in a batch: log lines, metrics and named streams end up in the run directory. */
export type BatchItem =
  | { k: 'log'; time: number; message: string; fields?: Record<string, unknown> }
  | { k: 'stream'; time: number; stream: string; record: Record<string, unknown> };

export interface WireError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** Messages from a rank (DEALER) to the coordinator (ROUTER). */
export type ClientMessage =
  | { t: 'join'; token: string; rank: number; size: number; host: string; pid: number; caps: Record<string, unknown> }
  | { t: 'barrier'; id: number; name: string; timeoutMs: number }
  | { t: 'kvset'; id: number; key: string; value: string }
  | { t: 'kvget'; id: number; key: string }
  | { t: 'kvwait'; id: number; key: string; timeoutMs: number }
  | { t: 'hb' }
  | { t: 'activity'; activity: string }
  | { t: 'batch'; items: BatchItem[] }
  | { t: 'abort'; reason: string }
  | { t: 'finish'; id: number; status: number }
  /** From a rank's supervisor (srun mode): how the rank process ended; carries the token since it never joined. */
  | { t: 'exited'; id: number; token: string; rank: number; host: string; pid: number; exitCode: number | null; signal: string | null; activity?: string; cpuTimeS?: number }
  /** From the srun-side supervisor of a node's local rank 0: its node sampler's records (node-power.jsonl). */
  | { t: 'node-power'; token: string; rank: number; items: BatchItem[] };

/** Messages from the coordinator to a rank. */
export type ServerMessage =
  | { t: 'welcome'; runId: string; runDir: string; peers: PeerInfo[]; heartbeatMs: number; heartbeatMisses: number }
  | { t: 'refused'; reason: string }
  | { t: 'reply'; id: number; ok: boolean; value?: string | null; error?: WireError }
  | { t: 'hb' }
  | { t: 'abort'; failure: FailureInfo; message: string };

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

export function encode(message: ClientMessage | ServerMessage): Buffer {
  return packr.pack({ v: PROTOCOL_VERSION, ...message });
}

type Check = (value: unknown) => boolean;
const str: Check = (v) => typeof v === 'string';
const int: Check = (v) => Number.isSafeInteger(v);
const obj: Check = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);
const any: Check = () => true;

// Required fields per type; anything missing or mistyped makes the whole frame invalid.
const clientSchema: Record<ClientMessage['t'], Record<string, Check>> = {
  join: { token: str, rank: int, size: int, host: str, pid: int, caps: obj },
  barrier: { id: int, name: str, timeoutMs: int },
  kvset: { id: int, key: str, value: str },
  kvget: { id: int, key: str },
  kvwait: { id: int, key: str, timeoutMs: int },
  hb: {},
  activity: { activity: str },
  batch: { items: (v) => Array.isArray(v) && v.every((item) => obj(item) && (item.k === 'log' || item.k === 'stream')) },
  abort: { reason: str },
  finish: { id: int, status: int },
  exited: { id: int, token: str, rank: int, host: str, pid: int, exitCode: (v) => v === null || int(v), signal: (v) => v === null || str(v), activity: (v) => v === undefined || str(v), cpuTimeS: (v) => v === undefined || (typeof v === 'number' && v >= 0) },
  'node-power': { token: str, rank: int, items: (v) => Array.isArray(v) && v.every((item) => obj(item) && item.k === 'stream') },
};

const serverSchema: Record<ServerMessage['t'], Record<string, Check>> = {
  welcome: { runId: str, runDir: str, peers: Array.isArray, heartbeatMs: int, heartbeatMisses: int },
  refused: { reason: str },
  reply: { id: int, ok: (v) => typeof v === 'boolean', value: any },
  hb: {},
  abort: { failure: obj, message: str },
};

/** Decodes one frame; returns an explanation instead of a message when it is not a valid one. */
function decodeWith<T>(frame: Buffer, schema: Record<string, Record<string, Check>>): T | string {
  let value: unknown;
  try {
    value = packr.unpack(frame);
  } catch (error) {
    return `not msgpack (${(error as Error).message})`;
  }
  if (!obj(value)) return 'not a msgpack map';
  const message = value as Record<string, unknown>;
  if (message.v !== PROTOCOL_VERSION) return `protocol version ${JSON.stringify(message.v)}, expected ${PROTOCOL_VERSION}`;
  const fields = typeof message.t === 'string' ? schema[message.t] : undefined;
  if (!fields || !Object.prototype.hasOwnProperty.call(schema, message.t as string)) {
    return `unknown message type ${JSON.stringify(message.t)}`;
  }
  for (const [field, check] of Object.entries(fields)) {
    if (!check(message[field])) return `${String(message.t)}: field "${field}" missing or of the wrong type`;
  }
  return message as T;
}

export function decodeClient(frame: Buffer): ClientMessage | string {
  return decodeWith<ClientMessage>(frame, clientSchema);
}

export function decodeServer(frame: Buffer): ServerMessage | string {
  return decodeWith<ServerMessage>(frame, serverSchema);
}
