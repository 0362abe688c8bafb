// Every CLI command, one file each; main.ts registers this list.
import type { CommandModule } from 'yargs';
import { benchCommand } from './bench';
import { infoCommand } from './info';
import { sbatchCommand } from './sbatch';
import { traceCommand } from './trace';
import { launchCommand } from './launch';
import { trainCommand } from './train';
import { profileCommand } from './profile';
import { sweepCommand } from './sweep';
import { compareCommand } from './compare';
import { recommendCommand } from './recommend';
import { reportCommand } from './report';
import { estimateCommand } from './estimate';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [infoCommand, traceCommand, benchCommand, sbatchCommand, launchCommand, trainCommand, profileCommand, sweepCommand, compareCommand, recommendCommand, reportCommand, estimateCommand];
