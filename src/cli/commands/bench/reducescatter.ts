// `joule bench reducescatter`: the nccl-tests-style sweep of reducescatter.
import { collectiveBenchCommand } from './collective-command';

export const reducescatterBench = collectiveBenchCommand('reducescatter');
