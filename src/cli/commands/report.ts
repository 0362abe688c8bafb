// `joule report RUN|SWEEP|A B ... --out report.html` (or `--validate RUNS|SWEEPS|TRACES...`): one self-contained HTML report (inline SVG charts, tables, each chart's data as CSV and JSON).
import fs from 'node:fs';
import path from 'node:path';
import type { CommandSpec } from '../command';
import { JouleError } from '../../errors';
import { printJson } from '../output';

interface ReportArgs {
  paths: string[];
  out: string;
  validate: boolean;
  profile?: string;
  'stabilizing-epoch'?: number;
  json: boolean;
}

export const reportCommand: CommandSpec<ReportArgs> = {
  command: 'report <paths..>',
  describe: 'Write one self-contained HTML report (readable offline, printable) for a run, a sweep, or a comparison of several: summary, power over time, energy breakdown, sweep charts, side-by-side tables; or (--validate) the estimation methods\' errors',
  operands: {
    paths: 'A run directory, a sweep directory, or several of either to compare',
  },
  options: {
    out: { alias: 'o', type: 'string', default: 'report.html', describe: 'The HTML file to write' },
    validate: {
        type: 'boolean',
        default: false,
        describe: 'Instead: validate the energy estimation methods on the paths (runs, sweeps, power CSV traces with <name>.epochs.csv beside them): MAPE and RMSE per method against the measured energy, as joule estimate --validate computes them (detected stabilizing epoch, window 5)',
      },
    profile: { type: 'string', describe: 'With --validate: the cluster profile of CSV traces (their TDPs, cores, PUE); run directories carry their own' },
    'stabilizing-epoch': { type: 'number', describe: 'With --validate: fix the stabilizing epoch s (0-based) instead of detecting it' },
    json: { type: 'boolean', default: false, describe: 'Print {file, title, charts, bytes} as JSON' },
  },
  examples: [
    ['$0 report runs/last --out run.html', 'One run: power per domain over time, where the joules went'],
    ['$0 report sweeps/scaling --out scaling.html', 'A sweep: speed-up, energy vs device-hours with its fit, the Pareto front'],
    ['$0 report runs/a100-run runs/h100-run --out a100-vs-h100.html', 'Two runs side by side'],
    ['$0 report --validate sweeps/scaling logs/*.csv --out validation.html', 'Each estimation method\'s error against the measured energy of a sweep\'s runs and imported traces'],
  ],
  check: (args) => {
        for (const key of ['profile', 'stabilizing-epoch'] as const) if (args[key] !== undefined && !args.validate) throw new JouleError('JOULE_BAD_ARGUMENT', `--${key} applies to --validate only`);
        const s = args['stabilizing-epoch'];
        if (s !== undefined && (!Number.isInteger(s) || s < 0)) throw new JouleError('JOULE_BAD_ARGUMENT', `--stabilizing-epoch must be a whole number >= 0, got ${s}`);
      },
  handler: async (args) => {
    const { buildReport } = await import('../../report/html');
    const report = await buildReport(args.paths.map(String), { validate: args.validate ? { profile: args.profile, stabilizingEpoch: args['stabilizing-epoch'] } : undefined });
    const file = path.resolve(args.out);
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, report.html, { mode: 0o644 });
    fs.renameSync(temp, file);
    if (args.json) printJson({ file, title: report.title, charts: report.charts, bytes: Buffer.byteLength(report.html) });
    else process.stderr.write(`joule: wrote ${file} (${report.charts} charts, ${(Buffer.byteLength(report.html) / 1024).toFixed(0)} KiB)\n`);
  },
};
