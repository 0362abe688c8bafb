// `joule bench allreduce`: the nccl-tests-style sweep of allreduce.
import { collectiveBenchCommand } from './collective-command';

export const allreduceBench = collectiveBenchCommand('allreduce');
