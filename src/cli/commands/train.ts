// `joule train`: data-parallel, pipeline or hybrid tfjs training with time, accuracy and energy per step; starts its ranks
// through the launcher, or runs as a rank inside `joule launch`, srun or sbatch.
import type { CommandModule } from 'yargs';
import { optimizerNames, precisionChoices, scheduleChoices, strategyChoices, tfBackendChoices, trainDefaults } from '../../train/config';
import type { JobArgs } from '../../train/job';

export const trainCommand: CommandModule<object, JobArgs> = {
  command: 'train',
  describe: 'Train a model data-parallel, pipelined (--strategy pp) or both (hybrid) over N ranks; print time, loss, accuracy and joules; record everything in runs/<time>-train-<model>/',
  builder: (yargs) =>
    yargs
      // A flag given twice takes its last value (as in a script that appends overrides), never an array.
      .parserConfiguration({ 'duplicate-arguments-array': false })
      .option('ntasks', { alias: 'n', type: 'number', describe: 'Ranks (default: 2 here, at most one per CPU; inside an allocation, SLURM_NTASKS)' })
      .option('profile', { type: 'string', default: 'local', describe: 'Cluster profile: a name in slurm/profiles/ or a path to a .json' })
      .option('model', { type: 'string', default: trainDefaults.model, describe: 'mlp | resnet-mini | resnet18 | resnet50 | bert-mini' })
      .option('dataset', { type: 'string', default: trainDefaults.dataset, describe: 'mnist | synthetic-images | brown | synthetic-tokens | npy:<dir> (x.npy, y.npy) | module:<file.js>' })
      .option('epochs', { type: 'number', default: trainDefaults.epochs, describe: 'Passes over the training set' })
      .option('strategy', { choices: strategyChoices, describe: 'dp (default): every rank a replica; pp: the model cut into --stages pipeline stages, one rank each; hybrid: --dp replicas of a --stages pipeline (dp × stages ranks)' })
      .option('stages', { type: 'number', describe: 'pp/hybrid: pipeline stages K (consecutive layers each, cut where one tensor crosses)' })
      .option('dp', { type: 'number', describe: 'hybrid: data-parallel replicas of the pipeline (default: ranks ÷ stages)' })
      .option('micro-batches', { type: 'number', describe: 'pp/hybrid: micro-batches M per mini-batch, each --lbs samples (default 4, or --gbs ÷ (lbs × dp)); GPipe idles (K−1)/(M+K−1) of a step' })
      .option('split', { type: 'string', describe: 'pp/hybrid: auto or flops (balance forward FLOPs), or the first layer index of each stage after the first (e.g. 10,19 for resnet-mini; a bad index is refused with the valid ones)' })
      .option('schedule', { choices: scheduleChoices, describe: 'pp/hybrid: gpipe (all forwards, then all backwards) or 1f1b (one forward, one backward in the steady state: fewer activations held); default gpipe' })
      .option('lbs', { type: 'number', default: trainDefaults.lbs, describe: 'Local batch size: samples per rank per micro-step (pp/hybrid: per micro-batch)' })
      .option('gbs', { type: 'number', describe: 'Global batch size: lbs × ranks × accumulation steps (default lbs × ranks)' })
      .option('precision', { choices: precisionChoices, default: trainDefaults.precision, describe: 'Gradient wire precision: fp32, bf16, fp16 (with loss scaling), or adaptive (moves by measured energy); tfjs computes in f32' })
      .option('seed', { type: 'number', default: trainDefaults.seed, describe: 'Seed of the weights and the data order: same seed, same loss curve' })
      .option('optimizer', { choices: optimizerNames, default: trainDefaults.optimizer, describe: 'adam (lr 2e-3) or sgd with momentum 0.9 (lr 0.05)' })
      .option('lr', { type: 'number', describe: 'Learning rate (default: the optimizer\'s)' })
      .option('bucket-bytes', { type: 'number', default: trainDefaults.bucketBytes, describe: 'Gradient bytes per fused allreduce bucket' })
      .option('checksum-every', { type: 'string', default: '1epoch', describe: 'Compare a checksum of every rank\'s weights this often (e.g. 50 steps, 1epoch)' })
      .option('checkpoint-every', { type: 'string', describe: 'Write a checkpoint this often (e.g. 100 steps, 1epoch); SIGTERM always writes one' })
      .option('resume', { type: 'string', describe: 'Continue the run in this run directory (or checkpoint directory) from its latest checkpoint; its configuration applies, except --max-steps' })
      .option('max-steps', { type: 'number', describe: 'Stop after this many optimizer steps in all' })
      .option('train-size', { type: 'number', describe: 'Use only the first N training samples' })
      .option('test-size', { type: 'number', describe: 'Use only the first N held-out samples' })
      .option('tf-backend', { choices: tfBackendChoices, default: 'auto' as const, describe: 'tfjs backend: auto picks tfjs-node-gpu, then tfjs-node, then wasm, then cpu' })
      .option('emulate', { choices: ['bf16', 'fp16'] as const, describe: 'Emulate a 16-bit compute precision by rounding weights before every forward pass (accuracy studies; costs energy, saves none)' })
      .option('predict-after', { type: 'number', describe: 'Project total energy, time and CO2e after this many epochs, then each epoch (STEP, del Rey et al.)' })
      .option('energy-budget', { type: 'string', describe: 'Stop cleanly (checkpoint, status "budget") once the projected energy exceeds this (e.g. 50kJ, 0.2kWh); projects from the first epoch unless --predict-after says otherwise' })
      .option('allow-model-energy', { type: 'boolean', default: false, describe: 'Let the adaptive policy act on modelled energy (recorded as such)' })
      .option('instrument', { type: 'boolean', default: true, describe: 'Power windows, checksums and per-step records (--no-instrument only to measure their cost)' })
      .option('name', { type: 'string', describe: 'Run name (default train-<model>)' })
      .option('run-dir', { type: 'string', describe: 'Write the run record to exactly this directory' })
      .option('secure', { type: 'boolean', default: false, describe: 'Encrypt coordinator traffic with ZeroMQ CURVE' })
      .option('oversubscribe', { type: 'boolean', default: false, describe: 'Local launcher: start more than 4 ranks per allowed CPU (refused otherwise)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the summary as one JSON object (progress goes to stderr)' })
      .example('$0 train', 'resnet-mini on MNIST, 2 ranks, 1 epoch: the quick start')
      .example('$0 train -n 2 --precision bf16 --epochs 2', 'Gradients cross the wire as bf16')
      .example('$0 train --checkpoint-every 1epoch --epochs 5', 'Then `joule train --resume runs/<dir>` continues exactly')
      .example('$0 train -n 2 --strategy pp --stages 2 --micro-batches 8 --schedule 1f1b', 'The model cut in 2 pipeline stages, one per rank')
      .example('$0 train -n 4 --strategy hybrid --dp 2 --stages 2', '2 data-parallel replicas of a 2-stage pipeline')
      .example('srun -n 8 $0 train --model resnet18 --dataset synthetic-images', 'Inside an allocation: every srun task is a rank'),
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
