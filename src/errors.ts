// Machine-readable errors: every failure joule reports carries a `code` that scripts and tests match on.

/** Every code, once; native code's codes (native/errors.h) are among them (test/native/error-codes.test.ts). */
export const jouleErrorCodes = [
  'JOULE_ADDON_LOAD_FAILED',
  'JOULE_BAD_ARGUMENT',
  'JOULE_BAD_DATA',
  'JOULE_BAD_HOSTLIST',
  'JOULE_BACKEND_UNAVAILABLE',
  'JOULE_TF_BACKEND_UNAVAILABLE',
  'JOULE_COLLECTIVE_MISMATCH',
  'JOULE_TIMEOUT',
  'JOULE_RANK_FAILED',
  'JOULE_ABORTED',
  'JOULE_NATIVE_ERROR',
  'JOULE_WIRE_OVERFLOW',
  'JOULE_UNKNOWN_PROFILE',
  'JOULE_UNKNOWN_MODEL',
  'JOULE_UNKNOWN_DATASET',
  'JOULE_BAD_PROFILE',
  'JOULE_SLURM_UNAVAILABLE',
  'JOULE_SBATCH_FAILED',
  'JOULE_WEIGHTS_DIVERGED',
  'JOULE_BAD_CHECKPOINT',
] as const;

export type JouleErrorCode = (typeof jouleErrorCodes)[number];

/** Codes that mean the user asked for something invalid: the CLI exits 2 (usage) on these. */
export const usageErrorCodes: ReadonlySet<JouleErrorCode> = new Set<JouleErrorCode>(['JOULE_BAD_ARGUMENT', 'JOULE_BAD_HOSTLIST', 'JOULE_UNKNOWN_PROFILE', 'JOULE_BAD_PROFILE', 'JOULE_UNKNOWN_MODEL', 'JOULE_UNKNOWN_DATASET']);

export interface JouleErrorDetails {
  rank?: number;
  host?: string;
  device?: string;
  /** The underlying library's own error text (dlerror, NCCL, NVML, errno). */
  libraryError?: string;
  [key: string]: unknown;
}

export class JouleError extends Error {
  readonly code: JouleErrorCode;
  readonly details: JouleErrorDetails;

  constructor(code: JouleErrorCode, message: string, details: JouleErrorDetails = {}) {
    super(message);
    this.name = 'JouleError';
    this.code = code;
    this.details = details;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...this.details };
  }
}

export function isJouleError(error: unknown, code?: JouleErrorCode): error is JouleError {
  return error instanceof JouleError && (code === undefined || error.code === code);
}

/** `code` when it is one of joule's codes (e.g. read from a native error), else undefined. */
export function knownErrorCode(code: unknown): JouleErrorCode | undefined {
  return (jouleErrorCodes as readonly unknown[]).includes(code) ? (code as JouleErrorCode) : undefined;
}
