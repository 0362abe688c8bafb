// `joule train` as a rank (under `joule launch`, srun or sbatch): join the job, train, leave the summary
// in the run directory for whoever started the job, and print it when nobody else will.
import fs from 'node:fs';
import path from 'node:path';
import { readEnv, type EnvName } from '../env';
import { init } from '../world/init';
import { printJson } from '../cli/output';
import { checkRequestedLayout, loadCheckpoint, type Checkpoint } from './checkpoint';
import { configFrom, type TrainArgs } from './options';
import { PROGRESS_MARKER, ProgressDisplay, summaryTable } from './progress';
import { train, type TrainHooks, type TrainWorld } from './trainer';
import { trainPipeline } from './pipeline/trainer';
import { TRAIN_HEARTBEAT_MISSES } from './config';
import { native } from '../native';
import type { CommFacts } from './records';

/** Set by the launcher side of `joule train`: rank 0 sends progress as marked lines and leaves the summary to it. */
export const PROGRESS_ENV = 'JOULE_TRAIN_PROGRESS' satisfies EnvName;
export const SUMMARY_FILE = 'train-summary.json';

export async function runRank(args: TrainArgs & { resume?: string; json: boolean }): Promise<number> {
  // Under bare srun nobody set the heartbeat budget: give synchronous tfjs steps the same room as the launcher does.
  process.env.JOULE_HEARTBEAT_MISSES ??= String(TRAIN_HEARTBEAT_MISSES);
  const world = (await init()) as unknown as TrainWorld;
  // Pipeline checkpoints are sharded: each rank reads its own.
  const resume: Checkpoint | undefined = args.resume ? loadCheckpoint(path.resolve(args.resume), world.rank) : undefined;
  if (resume) checkRequestedLayout(resume, args);
  // A resumed run keeps the checkpoint's configuration (the same curve), except a new step budget.
  const config = resume ? { ...resume.state.config, maxSteps: args['max-steps'] ?? resume.state.config.maxSteps } : configFrom(args, world.size);
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const piped = readEnv(PROGRESS_ENV) === 'pipe';
  const display = new ProgressDisplay((text) => process.stdout.write(text), false);
  const hooks: TrainHooks = {
    stopRequested: () => stop,
    onProgress: (update) => (piped ? process.stdout.write(`${PROGRESS_MARKER}${JSON.stringify(update)}\n`) : args.json ? undefined : display.update(update)),
    afterUpdate: faultInjection(world.rank),
    exitAt: stageExit(world.rank),
  };
  if (resume) world.log(`resuming from ${resume.dir} at step ${resume.state.position.globalStep}; the checkpoint's configuration applies`);
  const parallel = config.parallel ?? { strategy: 'dp', dp: world.size, stages: 1, microBatches: 1, split: 'flops', schedule: 'gpipe' };
  const summary = parallel.strategy === 'dp' ? await train(world, config, hooks, resume) : await trainPipeline(world, config, parallel, hooks, resume);
  summary.runDir = world.runDir;
  if (world.rank === 0) {
    summary.comm = await commFacts(world);
    const file = path.join(world.runDir, SUMMARY_FILE);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(summary, null, 1));
    fs.renameSync(`${file}.tmp`, file);
    if (!piped) {
      if (args.json) printJson(summary);
      else process.stdout.write(`${summaryTable(summary)}\n`);
    }
  }
  await world.finalize();
  return 0;
}

/** The collective backend this run's world communicator used and the NCCL library the addon finds (rank 0 only: no collective). */
async function commFacts(world: TrainWorld): Promise<CommFacts> {
  const nccl = (await native().capabilities()).nccl;
  // One rank makes no world communicator; asking for world.comm would make one.
  const backend = world.size > 1 ? world.comm.backend ?? null : null;
  return { backend, ncclVersion: nccl.usable ? nccl.version ?? null : null, ...(nccl.usable ? {} : { ncclReason: nccl.reason }) };
}

/**
 * JOULE_TEST_DIVERGE=RANK:STEP nudges one weight on RANK after STEP's update: the weight checksum must
 * catch it (the test of that guard; never set in real runs).
 */
function faultInjection(rank: number): TrainHooks['afterUpdate'] {
  const spec = readEnv('JOULE_TEST_DIVERGE');
  if (!spec) return undefined;
  const [r, s] = spec.split(':').map(Number);
  if (r !== rank) return undefined;
  return (step, weights) => {
    if (step === s) weights[0] += 1e-3;
  };
}

/** JOULE_TEST_STAGE_EXIT=RANK:STEP: that rank exits at the start of STEP (a stage dying mid-pipeline; tests only). */
function stageExit(rank: number): number | undefined {
  const spec = readEnv('JOULE_TEST_STAGE_EXIT');
  if (!spec) return undefined;
  const [r, s] = spec.split(':').map(Number);
  return r === rank ? s : undefined;
}
