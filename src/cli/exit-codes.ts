// The CLI's exit codes (documented in the README).
export const ExitCode = {
  ok: 0,
  /** The command ran and failed (a rank failed, a backend was unusable, a run error). */
  failure: 1,
  /** Bad usage: unknown command, unknown or invalid flag, bad argument value. */
  usage: 2,
  /** A benchmark's result check found wrong values (#wrong > 0). */
  wrongResults: 3,
} as const;
