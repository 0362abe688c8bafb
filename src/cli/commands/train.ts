// `joule train`: data-parallel, pipeline or hybrid tfjs training with time, accuracy and energy per step; starts its ranks
// through the launcher, or runs as a rank inside `joule launch`, srun or sbatch.
import type { CommandSpec } from '../command';
import { optimizerNames, precisionChoices, scheduleChoices, strategyChoices, tfBackendChoices, trainDefaults } from '../../train/config';
import type { JobArgs } from '../../train/job';

export const trainCommand: CommandSpec<JobArgs> = {
  command: 'train',
  describe: 'Train a model data-parallel, pipelined (--strategy pp) or both (hybrid) over N ranks; print time, loss, accuracy and joules; record everything in runs/<time>-train-<model>/',
  options: {
    ntasks: { alias: 'n', type: 'number', describe: 'Ranks (default: 2 here, at most one per CPU; inside an allocation, SLURM_NTASKS)' },
    profile: { type: 'string', default: 'local', describe: 'Cluster profile: a name in slurm/profiles/ or a path to a .json' },
    model: { type: 'string', default: trainDefaults.model, describe: 'mlp | resnet-mini | resnet18 | resnet50 | bert-mini' },
    dataset: { type: 'string', default: trainDefaults.dataset, describe: 'mnist | synthetic-images | brown | synthetic-tokens | npy:<dir> (x.npy, y.npy) | module:<file.js>' },
    epochs: { type: 'number', default: trainDefaults.epochs, describe: 'Passes over the training set' },
    strategy: { choices: strategyChoices, describe: 'dp (default): every rank a replica; pp: the model cut into --stages pipeline stages, one rank each; hybrid: --dp replicas of a --stages pipeline (dp × stages ranks)' },
    stages: { type: 'number', describe: 'pp/hybrid: pipeline stages K (consecutive layers each, cut where one tensor crosses)' },
    dp: { type: 'number', describe: 'hybrid: data-parallel replicas of the pipeline (default: ranks ÷ stages)' },
    'micro-batches': { type: 'number', describe: 'pp/hybrid: micro-batches M per mini-batch, each --lbs samples (default 4, or --gbs ÷ (lbs × dp)); GPipe idles (K−1)/(M+K−1) of a step' },
    split: { type: 'string', describe: 'pp/hybrid: auto or flops (balance forward FLOPs), or the first layer index of each stage after the first (e.g. 10,19 for resnet-mini; a bad index is refused with the valid ones)' },
    schedule: { choices: scheduleChoices, describe: 'pp/hybrid: gpipe (all forwards, then all backwards) or 1f1b (one forward, one backward in the steady state: fewer activations held); default gpipe' },
    lbs: { type: 'number', default: trainDefaults.lbs, describe: 'Local batch size: samples per rank per micro-step (pp/hybrid: per micro-batch)' },
    gbs: { type: 'number', describe: 'Global batch size: lbs × ranks × accumulation steps (default lbs × ranks)' },
    precision: { choices: precisionChoices, default: trainDefaults.precision, describe: 'Gradient wire precision: fp32, bf16, fp16 (with loss scaling), or adaptive (moves by measured energy); tfjs computes in f32' },
    seed: { type: 'number', default: trainDefaults.seed, describe: 'Seed of the weights and the data order: same seed, same loss curve' },
    optimizer: { choices: optimizerNames, default: trainDefaults.optimizer, describe: 'adam (lr 2e-3) or sgd with momentum 0.9 (lr 0.05)' },
    lr: { type: 'number', describe: 'Learning rate (default: the optimizer\'s)' },
    'bucket-bytes': { type: 'number', default: trainDefaults.bucketBytes, describe: 'Gradient bytes per fused allreduce bucket' },
    'checksum-every': { type: 'string', default: '1epoch', describe: 'Compare a checksum of every rank\'s weights this often (e.g. 50 steps, 1epoch)' },
    'checkpoint-every': { type: 'string', describe: 'Write a checkpoint this often (e.g. 100 steps, 1epoch); SIGTERM always writes one' },
    resume: { type: 'string', describe: 'Continue the run in this run directory (or checkpoint directory) from its latest checkpoint; its configuration applies, except --max-steps' },
    'max-steps': { type: 'number', describe: 'Stop after this many optimizer steps in all' },
    'train-size': { type: 'number', describe: 'Use only the first N training samples' },
    'test-size': { type: 'number', describe: 'Use only the first N held-out samples' },
    'tf-backend': { choices: tfBackendChoices, default: 'auto' as const, describe: 'tfjs backend: auto picks tfjs-node-gpu, then tfjs-node, then wasm, then cpu' },
    emulate: { choices: ['bf16', 'fp16'] as const, describe: 'Emulate a 16-bit compute precision by rounding weights before every forward pass (accuracy studies; costs energy, saves none)' },
    'predict-after': { type: 'number', describe: 'Project total energy, time and CO2e after this many epochs, then each epoch (STEP, del Rey et al.)' },
    'energy-budget': { type: 'string', describe: 'Stop cleanly (checkpoint, status "budget") once the projected energy exceeds this (e.g. 50kJ, 0.2kWh); projects from the first epoch unless --predict-after says otherwise' },
    'allow-model-energy': { type: 'boolean', default: false, describe: 'Let the adaptive policy act on modelled energy (recorded as such)' },
    instrument: { type: 'boolean', default: true, describe: 'Power windows, checksums and per-step records (--no-instrument only to measure their cost)' },
    name: { type: 'string', describe: 'Run name (default train-<model>)' },
    'run-dir': { type: 'string', describe: 'Write the run record to exactly this directory' },
    secure: { type: 'boolean', default: false, describe: 'Encrypt coordinator traffic with ZeroMQ CURVE' },
    oversubscribe: { type: 'boolean', default: false, describe: 'Local launcher: start more than 4 ranks per allowed CPU (refused otherwise)' },
    json: { type: 'boolean', default: false, describe: 'Print the summary as one JSON object (progress goes to stderr)' },
  },
  examples: [
    ['$0 train', 'resnet-mini on MNIST, 2 ranks, 1 epoch: the quick start'],
    ['$0 train -n 2 --precision bf16 --epochs 2', 'Gradients cross the wire as bf16'],
    ['$0 train --checkpoint-every 1epoch --epochs 5', 'Then `joule train --resume runs/<dir>` continues exactly'],
    ['$0 train -n 2 --strategy pp --stages 2 --micro-batches 8 --schedule 1f1b', 'The model cut in 2 pipeline stages, one per rank'],
    ['$0 train -n 4 --strategy hybrid --dp 2 --stages 2', '2 data-parallel replicas of a 2-stage pipeline'],
    ['srun -n 8 $0 train --model resnet18 --dataset synthetic-images', 'Inside an allocation: every srun task is a rank'],
  ],
  handler: async (args) => {
    const { runningAsRank, runJob } = await import('../../train/job');
    if (runningAsRank()) {
      const { runRank } = await import('../../train/rank-main');
      process.exit(await runRank(args));
    }
    const argv = process.argv.slice(2);
    process.exit(await runJob(args, argv));
  },
};
