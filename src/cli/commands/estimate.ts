// `joule estimate`: a training run's energy before it starts, from a recorded trace, or each method's error over many runs and traces.
import fs from 'node:fs';
import type { CommandSpec } from '../command';
import { JouleError } from '../../errors';
import type { TraceProjection, Validation } from '../../estimate';
import { besideEpochs, expandTracePaths } from '../../estimate/import/paths';
import { formatTable, printJson } from '../output';

interface EstimateArgs {
  profile?: string;
  model?: string;
  params?: number;
  'flops-per-sample'?: number;
  'input-size'?: number;
  gpus: number;
  epochs?: number;
  lbs?: number;
  gbs?: number;
  'dataset-size'?: number;
  precision?: string;
  strategy?: string;
  duration?: string;
  'epoch-duration'?: string;
  cores?: number;
  'memory-gb'?: number;
  history?: string[];
  'pre-data'?: string[];
  trace?: string;
  'epochs-file'?: string;
  'time-column'?: string;
  'power-column'?: string;
  'device-column'?: string;
  validate?: string[];
  'stabilizing-epoch'?: number;
  window: number;
  'mp-distance': 'znorm' | 'euclidean';
  json: boolean;
}

const kJ = (j: number | null | undefined) =>
  j === null || j === undefined || !Number.isFinite(j) ? '-' : j >= 1e6 ? `${(j / 3.6e6).toFixed(3)} kWh` : j >= 1000 ? `${(j / 1000).toFixed(2)} kJ` : `${j.toFixed(1)} J`;
const hours = (s: number | null | undefined) => (s === null || s === undefined ? '-' : s >= 3600 ? `${(s / 3600).toFixed(2)} h` : `${s.toFixed(1)} s`);
const pct = (p: number | null | undefined) => (p === null || p === undefined || !Number.isFinite(p) ? '-' : `${p.toFixed(1)} %`);

export const estimateCommand: CommandSpec<EstimateArgs> = {
  command: 'estimate',
  describe: 'Estimate a training run\'s energy: before it starts (--profile, --model), from a recorded trace (--trace), or validate the methods against measured runs (--validate)',
  details:
    'Methods: tdp (ML CO2 Impact), green-algorithms, carbontracker (first epoch × epochs), gpu-hours (k × GPU-hours, Huber et al.), ' +
    'online-power and step (del Rey et al.: after the stabilizing epoch s, a window of w epochs), pre-krr and pre-linear (regression on past runs). ' +
    'Each figure is IT energy unless its notes say otherwise; a method that cannot answer says what it lacks.',
  options: {
    profile: { type: 'string', describe: 'Cluster profile (slurm/profiles/<name>.json or a path): TDPs, cores, memory, PUE' },
    model: { type: 'string', describe: 'Model name (its parameters and FLOPs come from joule\'s model builders)' },
    params: { type: 'number', describe: 'Trainable parameters (instead of the model builder\'s count)' },
    'flops-per-sample': { type: 'number', describe: 'Forward FLOPs per sample (a multiply-add counts 2)' },
    'input-size': { type: 'number', describe: 'Elements of one input sample (e.g. 224*224*3)' },
    gpus: { type: 'number', default: 0, describe: 'GPUs of the planned job (0: CPU only)' },
    epochs: { type: 'number', describe: 'Planned epochs' },
    lbs: { type: 'number', describe: 'Local (per-rank) batch size' },
    gbs: { type: 'number', describe: 'Global batch size (default lbs × ranks)' },
    'dataset-size': { type: 'number', describe: 'Training samples per epoch' },
    precision: { type: 'string', describe: 'Compute precision: fp32, tf32, bf16, fp16' },
    strategy: { type: 'string', describe: 'dp (data parallel), pp (pipeline) or hybrid' },
    duration: { type: 'string', describe: 'Planned training time (3600, 90m, 10h, 12:00:00)' },
    'epoch-duration': { type: 'string', describe: 'Time of one epoch (× --epochs)' },
    cores: { type: 'number', describe: 'CPU cores of the job (Green Algorithms; default the profile\'s per node × nodes)' },
    'memory-gb': { type: 'number', describe: 'Memory of the job, GB (Green Algorithms; default the profile\'s per node × nodes)' },
    history: { type: 'string', array: true, describe: 'Past runs (run or sweep directories, traces): fit the GPU-hours law and PRE, and give each method\'s expected error' },
    'pre-data': { type: 'string', array: true, describe: 'CSV tables of other people\'s runs for PRE (columns in the README)' },
    trace: { type: 'string', describe: 'A recorded trace: nvidia-smi CSV, time_s,power_w[,device] CSV, or a run directory' },
    'epochs-file': { type: 'string', describe: 'epoch,end_time CSV for --trace (default <trace>.epochs.csv when it exists)' },
    'time-column': { type: 'string', describe: 'The trace\'s time column, when its header is not recognised' },
    'power-column': { type: 'string', describe: 'The trace\'s power column' },
    'device-column': { type: 'string', describe: 'The trace\'s device column (several GPUs per file)' },
    validate: { type: 'string', array: true, describe: 'Runs, sweeps or traces to validate every method against (RMSE kJ, MAPE, worst case)' },
    'stabilizing-epoch': { type: 'number', describe: 'Fix the stabilizing epoch s (0-based) instead of detecting it (del Rey et al. fixed s = 10)' },
    window: { type: 'number', default: 5, describe: 'Window w in epochs for online-power and step' },
    'mp-distance': { choices: ['znorm', 'euclidean'] as const, default: 'znorm' as const, describe: 'Matrix profile distance for detecting s: z-normalized (as published) or plain Euclidean (sees level changes)' },
    json: { type: 'boolean', default: false, describe: 'Print the result as JSON' },
  },
  examples: [
    ['$0 estimate --profile clusterA --model resnet50 --gpus 16 --epochs 90 --duration 10h', 'Before training: every method that can answer'],
    ['$0 estimate --trace gpu.csv --epochs-file epochs.csv --profile clusterA', 'Measured energy of an nvidia-smi log and what each method would have projected'],
    ['$0 estimate --validate runs/ logs/*.csv --json', 'Each method\'s RMSE, MAPE and worst case over many runs and traces'],
  ],
  check: (args) => {
        const modes = [args.trace !== undefined, args.validate !== undefined].filter(Boolean).length;
        if (modes > 1) throw new JouleError('JOULE_BAD_ARGUMENT', '--trace and --validate are separate modes: give one');
        if (modes === 0 && (args.profile === undefined || args.epochs === undefined)) {
          throw new JouleError('JOULE_BAD_ARGUMENT', 'before training, give --profile and --epochs (and --model or --params); or --trace FILE; or --validate RUNS...');
        }
        for (const key of ['gpus', 'epochs', 'window', 'stabilizing-epoch'] as const) {
          const v = args[key];
          if (v !== undefined && (!Number.isInteger(v) || v < (key === 'window' || key === 'epochs' ? 1 : 0))) throw new JouleError('JOULE_BAD_ARGUMENT', `--${key} must be a whole number${key === 'window' || key === 'epochs' ? ' >= 1' : ' >= 0'}, got ${v}`);
        }
      },
  handler: async (args) => {
    const estimate = await import('../../estimate');
    const { loadHardware } = await import('../../estimate/hardware');
    const hardware = args.profile ? loadHardware(args.profile) : undefined;
    const stabilizing = { normalize: args['mp-distance'] === 'znorm' };
    const common = { s: args['stabilizing-epoch'], w: args.window, stabilizing, hardware, cores: args.cores, memoryGB: args['memory-gb'] };
    const columns = { time: args['time-column'], power: args['power-column'], device: args['device-column'] };
    const load = (p: string, epochsFile?: string) => estimate.loadTrace(p, { epochsFile: epochsFile ?? besideEpochs(p), columns });

    if (args.trace !== undefined) {
      const projection = estimate.projectFromTrace(load(args.trace, args['epochs-file']), common);
      if (args.json) return printJson(projection);
      printTrace(projection);
      return;
    }
    if (args.validate !== undefined) {
      const files = expandTracePaths(args.validate);
      const loaded = files.map((f, i) => {
        if (!args.json && process.stderr.isTTY) process.stderr.write(`\rreading ${i + 1}/${files.length}: ${f}\x1b[K`);
        return load(f);
      });
      if (!args.json && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      const validation = estimate.validate(loaded, common);
      if (args.json) return printJson(validation);
      printValidation(validation);
      return;
    }
    const { modelInfo } = await import('../../estimate/model-info');
    const { preRowsFromCsv, preRowFromRun } = await import('../../estimate/pre/dataset');
    const history = (args.history ? expandTracePaths(args.history) : []).map((p) => load(p));
    const preRows = [
      ...history.filter((h) => h.info).map((h) => preRowFromRun(h.info!.dir)),
      ...(args['pre-data'] ?? []).flatMap((f) => {
        if (!fs.existsSync(f)) throw new JouleError('JOULE_BAD_ARGUMENT', `no such PRE table: ${f}`);
        return preRowsFromCsv(fs.readFileSync(f, 'utf8'), f);
      }),
    ];
    const ranks = args.gpus > 0 ? args.gpus : 1;
    const report = estimate.estimateBefore(
      {
        hardware: hardware!,
        model: modelInfo(args.model, { parameters: args.params, flopsPerSample: args['flops-per-sample'], inputSize: args['input-size'] }),
        gpus: args.gpus,
        epochs: args.epochs!,
        batchSize: args.gbs ?? (args.lbs !== undefined ? args.lbs * ranks : undefined),
        datasetSize: args['dataset-size'],
        precision: args.precision,
        strategy: args.strategy,
        durationS: args.duration !== undefined ? estimate.parseDurationS(args.duration) : undefined,
        epochDurationS: args['epoch-duration'] !== undefined ? estimate.parseDurationS(args['epoch-duration']) : undefined,
        cores: args.cores,
        memoryGB: args['memory-gb'],
      },
      history,
      preRows,
      { s: args['stabilizing-epoch'], w: args.window, stabilizing },
    );
    if (args.json) return printJson(report);
    const rows = [['method', 'energy', 'time', 'expected error (MAPE)', 'inputs / lacks']];
    for (const e of report.estimates) {
      rows.push([
        e.method,
        kJ(e.energyJ),
        hours(e.durationS),
        e.expected ? `${pct(e.expected.mapePct)} (${e.expected.from}, n=${e.expected.n})` : '-',
        e.energyJ === null ? `lacks: ${e.lacks?.join('; ')}` : summarize(e.inputs),
      ]);
    }
    process.stdout.write(`${formatTable(rows)}\n\ntime: ${hours(report.duration.durationS)} (${report.duration.from}); ${report.devices.count ?? '?'} ${report.devices.hardware === 'gpu' ? 'GPUs' : 'CPU cores'} on ${report.devices.nodes} node(s); profile ${hardware!.profile}, PUE ${hardware!.pue}\n`);
  },
};

function summarize(inputs: Record<string, unknown>): string {
  return Object.entries(inputs)
    .filter(([, v]) => v !== null && v !== undefined)
    .slice(0, 6)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`)
    .join(' ');
}

function printTrace(p: TraceProjection): void {
  const m = p.measured;
  const lines = [
    `${p.name} (${p.format}): measured ${kJ(m.energyJ)} [${m.source}] over ${hours(m.durationS)}, ${m.epochs} epoch(s)`,
    `gaps: ${m.gaps} (${kJ(m.gapEnergyJ)} interpolated across them)${m.longestGapS !== null ? `, longest ${m.longestGapS.toFixed(1)} s` : ''}`,
    `lines left out: ${p.issues.count}${p.issues.count ? ` (${Object.entries(p.issues.byKind).map(([k, n]) => `${k} ${n}`).join(', ')}); first: ${p.issues.first.slice(0, 3).map((i) => `line ${i.line ?? '?'}: ${i.message}`).join(' | ')}` : ''}`,
    `stabilizing epoch: ${p.stabilizing.epoch ?? '-'} (position ${p.stabilizing.index}, ${p.stabilizing.how}: ${p.stabilizing.reason})`,
    '',
  ];
  const rows = [['method', 'projected', 'error', 'inputs / lacks']];
  for (const e of p.estimates) {
    const error = e.energyJ !== null && m.energyJ > 0 ? pct((100 * (e.energyJ - m.energyJ)) / m.energyJ) : '-';
    rows.push([e.method, kJ(e.energyJ), error, e.energyJ === null ? `lacks: ${e.lacks?.join('; ')}` : summarize(e.inputs)]);
  }
  process.stdout.write(`${lines.join('\n')}${formatTable(rows)}\n`);
}

function printValidation(v: Validation): void {
  const rows = [['method', 'n', 'RMSE', 'MAPE', 'worst case', 'unanswered']];
  for (const m of v.methods) {
    rows.push([
      m.method,
      String(m.n),
      m.n ? `${Number(m.rmseKJ.toPrecision(3))} kJ` : '-',
      pct(m.mapePct),
      m.worst ? `${m.worst.errorPct >= 0 ? '+' : ''}${m.worst.errorPct.toFixed(1)} % (${m.worst.name})` : '-',
      m.unanswered ? `${m.unanswered}: ${m.firstLack}` : '0',
    ]);
  }
  const truth = v.truthSources.includes('model') ? ' — a "model" truth is joule\'s energy model, not a measurement' : '';
  process.stdout.write(
    `${v.traces.length} trace(s); measured energy from: ${v.truthSources.join(', ')}${truth}\n${formatTable(rows)}\n` +
      (v.tdpOverStepRmse !== null ? `TDP RMSE / STEP RMSE: ${v.tdpOverStepRmse.toFixed(1)}× (del Rey et al.: about 24×)\n` : ''),
  );
}
