// `joule report RUN|SWEEP|A B ... --out report.html`: one self-contained HTML report (inline SVG charts, tables, each chart's data as CSV and JSON).
import fs from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { printJson } from '../output';

interface ReportArgs {
  paths: string[];
  out: string;
  json: boolean;
}

export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report <paths..>',
  describe: 'Write one self-contained HTML report (readable offline, printable) for a run, a sweep, or a comparison of several: summary, power over time, energy breakdown, sweep charts, side-by-side tables',
  builder: (yargs) =>
    yargs
      .positional('paths', { type: 'string', array: true, demandOption: true, describe: 'A run directory, a sweep directory, or several of either to compare' })
      .option('out', { alias: 'o', type: 'string', default: 'report.html', describe: 'The HTML file to write' })
      .option('json', { type: 'boolean', default: false, describe: 'Print {file, title, charts, bytes} as JSON' })
      .example('$0 report runs/last --out run.html', 'One run: power per domain over time, where the joules went')
      .example('$0 report sweeps/scaling --out scaling.html', 'A sweep: speed-up, energy vs device-hours with its fit, the Pareto front')
      .example('$0 report runs/a100-run runs/h100-run --out a100-vs-h100.html', 'Two runs side by side'),
  handler: async (args) => {
    const { buildReport } = await import('../../report/html');
    const report = await buildReport(args.paths.map(String));
    const file = path.resolve(args.out);
    const temp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, report.html, { mode: 0o644 });
    fs.renameSync(temp, file);
    if (args.json) printJson({ file, title: report.title, charts: report.charts, bytes: Buffer.byteLength(report.html) });
    else process.stderr.write(`joule: wrote ${file} (${report.charts} charts, ${(Buffer.byteLength(report.html) / 1024).toFixed(0)} KiB)\n`);
  },
};
