// The joule package's public API.
export { JouleError, isJouleError, type JouleErrorCode, type JouleErrorDetails } from './errors';
export { capabilityReport, type CapabilityReport } from './info/report';
export { expandHostlist, compressHostlist, parseTasksPerNode } from './slurm/hostlist';
