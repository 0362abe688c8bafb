// `joule bench allgather`: the nccl-tests-style sweep of allgather.
import { collectiveBenchCommand } from './collective-command';

export const allgatherBench = collectiveBenchCommand('allgather');
