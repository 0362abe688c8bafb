// Timing defaults shared by the launcher's flags and the rank runtime (a module of constants, cheap to import).
export const DEFAULT_HEARTBEAT_MS = 2000;
export const DEFAULT_HEARTBEAT_MISSES = 3;
export const DEFAULT_JOIN_TIMEOUT_S = 120;
export const DEFAULT_BARRIER_TIMEOUT_S = 600;
