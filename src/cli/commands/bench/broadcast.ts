// `joule bench broadcast`: the nccl-tests-style sweep of broadcast.
import { collectiveBenchCommand } from './collective-command';

export const broadcastBench = collectiveBenchCommand('broadcast');
