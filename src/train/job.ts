// `joule train` outside a job: start its ranks through the launcher (the same one `joule launch` uses),
// render rank 0's progress on this console, and print the summary the ranks left in the run directory.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../paths';
import { loadProfile } from '../slurm/profile';
import { readEnv } from '../env';
import { printJson } from '../cli/output';
import { checkRequestedLayout, checkResumable, loadCheckpoint } from './checkpoint';
import { TRAIN_HEARTBEAT_MISSES } from './config';
import { configFrom, type TrainArgs } from './options';
import { PROGRESS_MARKER, ProgressDisplay, summaryTable } from './progress';
import { PROGRESS_ENV, SUMMARY_FILE } from './rank-main';
import type { TrainSummary } from './records';

export interface JobArgs extends TrainArgs {
  ntasks?: number;
  profile: string;
  name?: string;
  'run-dir'?: string;
  resume?: string;
  json: boolean;
  secure: boolean;
  oversubscribe: boolean;
}

/** Ranks when -n is not given: inside an allocation, SLURM's count; here, up to 2 (one per core on small machines). */
function defaultRanks(): number | undefined {
  if (process.env.SLURM_JOB_ID) return undefined;
  return Math.max(1, Math.min(2, os.availableParallelism()));
}

export async function runJob(args: JobArgs, argv: string[]): Promise<number> {
  // A pipeline's grid says how many ranks it needs.
  const size = args.ntasks ?? (args.stages !== undefined && args.strategy !== undefined && args.strategy !== 'dp' ? (args.dp ?? 1) * args.stages : defaultRanks());
  // Fail here, before any rank starts, on anything the ranks would refuse.
  if (args.resume) {
    const checkpoint = loadCheckpoint(path.resolve(args.resume));
    checkRequestedLayout(checkpoint, args);
    if (size !== undefined && size !== checkpoint.state.layout.ranks) checkResumable(checkpoint, { ...checkpoint.state.layout, ranks: size }, checkpoint.arrays.weights.length, checkpoint.arrays.buffers.length);
  } else configFrom(args, size ?? Number(process.env.SLURM_NTASKS ?? 1));
  const profile = loadProfile(args.profile);
  const { launch, launchDefaults } = await import('../../launch/launcher');
  process.env[PROGRESS_ENV] = 'pipe';
  // With --json, stdout carries only the final JSON: progress and rank output go to stderr.
  const console = args.json ? process.stderr : process.stdout;
  const display = new ProgressDisplay((text) => console.write(text), console.isTTY === true);
  const rankOut = (text: string) => {
    const marked = /^\[0\] (.*)\n$/s.exec(text);
    if (marked && marked[1].startsWith(PROGRESS_MARKER)) {
      display.update(JSON.parse(marked[1].slice(PROGRESS_MARKER.length)));
      return;
    }
    display.interrupt();
    console.write(text);
  };
  const result = await launch({
    command: [process.execPath, path.join(packageRoot, 'bin', 'joule.js'), ...argv],
    size,
    name: args.name ?? `train-${args.model}`.replace(/[^A-Za-z0-9_.-]/g, '_'),
    runDir: args['run-dir'],
    profile,
    launcher: profile.launcher ?? 'auto',
    secure: args.secure,
    oversubscribe: args.oversubscribe,
    iface: readEnv('JOULE_IFACE'),
    heartbeatS: launchDefaults.heartbeatS,
    heartbeatMisses: TRAIN_HEARTBEAT_MISSES,
    joinTimeoutS: launchDefaults.joinTimeoutS,
    abortGraceS: launchDefaults.abortGraceS,
    out: rankOut,
    err: (text) => {
      display.interrupt();
      process.stderr.write(text);
    },
  });
  display.interrupt();
  const summaryFile = path.join(result.runDir, SUMMARY_FILE);
  if (!fs.existsSync(summaryFile)) {
    process.stderr.write(`joule: training ${result.status} (exit ${result.exitCode}) after ${result.durationS.toFixed(1)} s without a summary; record: ${result.runDir}\n`);
    return result.exitCode || 1;
  }
  const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as TrainSummary;
  const report = { ...summary, runDir: result.runDir, run: { status: result.status, exitCode: result.exitCode, durationS: result.durationS, energy: result.energy } };
  if (args.json) printJson(report);
  else process.stdout.write(`${summaryTable(report)}\n`);
  return result.exitCode;
}

/** True when this process is one of a job's ranks rather than the one starting them (the rank runtime's one rule). */
export { runningAsRank } from '../world/identity';

