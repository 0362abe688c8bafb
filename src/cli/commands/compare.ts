// `joule compare A B ...`: runs or sweeps side by side (normalized figures, each with its energy source), what differs besides the numbers, and loss-curve equality.
import type { CommandSpec } from '../command';
import { JouleError } from '../../errors';
import type { Findings } from '../../experiments/findings';
import { formatTable, printJson } from '../output';

interface CompareArgs {
  paths: string[];
  json: boolean;
  csv: boolean;
  'loss-tolerance'?: number;
  'fail-on-drift': boolean;
}

export function formatFigure(value: number | null, unit = ''): string {
  if (value === null) return 'n/a';
  const text = Math.abs(value) >= 1e5 || (Math.abs(value) < 1e-3 && value !== 0) ? value.toExponential(3) : Number(value.toPrecision(4)).toString();
  return unit && unit !== '1/s' ? `${text} ${unit}` : text;
}

/** The sweeps' findings as text: the device-hours law per model and profile, scaling, accuracy against GBS, energy per sample. */
function findingsText(f: Findings): string {
  const lines = ['', 'Findings over the sweeps\' runs:'];
  for (const fit of f.fits) {
    const k = fit.k === null ? `not fitted (${fit.energySources.length > 1 ? `energy from ${fit.energySources.join(' and ')}` : 'no usable point'})` : `k = ${Number(fit.k.toPrecision(4))} J per device-hour, R² = ${fit.r2 === null ? 'n/a' : fit.r2.toFixed(3)}`;
    lines.push(`  energy ≈ k × device-hours, ${fit.group}: ${k} (${fit.n} runs, energy source ${fit.energySources.join(', ')})`);
  }
  for (const r of f.scaling) lines.push(`  scaling ${r.series}: ${r.devices} devices, speed-up ${formatFigure(r.speedup)}, efficiency ${formatFigure(r.efficiency)}`);
  if (new Set(f.accuracyVsGbs.map((r) => r.gbs)).size > 1) {
    const byGbs = new Map<number, number[]>();
    for (const r of f.accuracyVsGbs) byGbs.set(r.gbs, [...(byGbs.get(r.gbs) ?? []), r.accuracy]);
    lines.push(`  accuracy by GBS: ${[...byGbs].sort(([a], [b]) => a - b).map(([gbs, acc]) => `${gbs}: ${formatFigure(acc.reduce((a, b) => a + b, 0) / acc.length)}`).join(', ')} (mean held-out accuracy)`);
  }
  const varied = (key: 'precision' | 'strategy') => new Set(f.energyPerSample.map((r) => r[key])).size > 1;
  if (varied('precision') || varied('strategy')) for (const r of f.energyPerSample) lines.push(`  energy per sample, ${r.precision}/${r.strategy} (${r.series}): ${formatFigure(r.jPerSample, 'J')} [${r.source ?? 'none'}]`);
  return `${lines.join('\n')}\n`;
}

export const compareCommand: CommandSpec<CompareArgs> = {
  command: 'compare <paths..>',
  describe: 'Compare runs or sweeps (run or sweep directories, same or different profiles): normalized figures side by side, what differs besides the numbers, whether same-config runs followed the same loss curve, and for sweeps the studies\' findings (energy ≈ k × device-hours per model and profile with R², speed-up and efficiency, accuracy against GBS, energy per sample by precision and strategy)',
  operands: {
    paths: 'Run directories (run.json) or sweep directories (sweep.json: one column per configuration)',
  },
  options: {
    json: { type: 'boolean', default: false, describe: 'Print the whole comparison as JSON' },
    csv: { type: 'boolean', default: false, describe: 'Print one CSV row per run or configuration: figures, energy source, differing context' },
    'loss-tolerance': { type: 'number', describe: 'Relative loss difference allowed per step (default 0, bitwise, on CPU backends; 1e-3 otherwise)' },
    'fail-on-drift': { type: 'boolean', default: false, describe: 'Exit 1 when comparable runs\' loss curves drift beyond the tolerance' },
  },
  examples: [
    ['$0 compare runs/a runs/b', 'Two runs side by side'],
    ['$0 compare sweeps/a100-scaling sweeps/h100-scaling --csv > both.csv', 'Every configuration of two sweeps, as CSV'],
    ['$0 compare runs/local-seed1 runs/cluster-seed1 --fail-on-drift', 'Same config and seed on two profiles: the same loss curve?'],
  ],
  handler: async (args) => {
    if (args.json && args.csv) throw new JouleError('JOULE_BAD_ARGUMENT', '--json and --csv: choose one');
    if (args['loss-tolerance'] !== undefined && !(args['loss-tolerance'] >= 0)) throw new JouleError('JOULE_BAD_ARGUMENT', `--loss-tolerance must be >= 0, got ${args['loss-tolerance']}`);
    const { compare } = await import('../../experiments/compare');
    const result = compare(args.paths.map(String), { lossTolerance: args['loss-tolerance'] });
    if (args.json) printJson(result);
    else if (args.csv) {
      const { stringify } = await import('csv-stringify/sync');
      const header = ['label', 'dir', 'energySource', ...result.figures.map((f) => (f.unit ? `${f.key} [${f.unit}]` : f.key)), ...result.differences.map((d) => d.field)];
      const rows = result.columns.map((column, i) => [column.label, column.dir, column.energySource ?? '', ...result.figures.map((f) => f.values[i] ?? ''), ...result.differences.map((d) => d.values[i] ?? '')]);
      process.stdout.write(stringify([header, ...rows]));
    } else {
      const labels = result.columns.map((c) => c.label);
      const rows = [
        ['FIGURE', ...labels],
        ...result.figures.map((f) => [f.label, ...f.values.map((v) => formatFigure(v, f.unit))]),
        ['energy source', ...result.energySources.map((s) => s ?? 'none')],
        ['per device means', ...result.columns.map((c) => (c.deviceKind === 'gpu' ? 'per GPU' : 'per rank (no GPU)'))],
      ];
      const repeats = result.repeats.some(Boolean) ? [['repeats', ...result.repeats.map((r) => (r ? String(r.n) : '1'))]] : [];
      process.stdout.write(`${formatTable([...rows, ...repeats])}\n`);
      process.stdout.write(result.differences.length ? `\nDiffers besides the numbers:\n${formatTable([['FIELD', ...labels], ...result.differences.map((d) => [d.field, ...d.values.map((v) => v ?? '-')])])}\n` : '\nNothing differs besides the numbers.\n');
      const same = Object.entries(result.same);
      if (same.length) process.stdout.write(`Same everywhere: ${same.map(([k, v]) => `${k} ${v}`).join('; ')}\n`);
      if (result.findings) process.stdout.write(findingsText(result.findings));
      for (const check of result.lossCurves) {
        const verdict = !check.comparable
          ? `not comparable: ${check.reason}`
          : check.ok
            ? `${check.bitwiseEqual ? 'bitwise equal' : `within ${check.tolerance} (max relative difference ${formatFigure(check.maxRelDiff)})`} over ${check.steps} steps`
            : `DRIFT from step ${check.firstDriftStep}: max relative difference ${formatFigure(check.maxRelDiff)} > tolerance ${check.tolerance} (${check.steps} steps)`;
        process.stdout.write(`Loss curve ${check.b} vs ${check.a}: ${verdict}\n`);
      }
    }
    if (args['fail-on-drift'] && result.lossCurves.some((c) => c.comparable && !c.ok)) process.exitCode = 1;
  },
};
