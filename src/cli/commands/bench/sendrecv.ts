// `joule bench sendrecv`: the nccl-tests-style sweep of sendrecv.
import { collectiveBenchCommand } from './collective-command';

export const sendrecvBench = collectiveBenchCommand('sendrecv');
