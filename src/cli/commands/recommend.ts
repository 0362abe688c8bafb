// `joule recommend SWEEP`: the Pareto front of energy, time and accuracy, and the configuration that best meets the constraints, with the evidence (repeats, spread, ties).
import type { CommandSpec } from '../command';
import { JouleError } from '../../errors';
import { formatTable, printJson } from '../output';
import type { Objective } from '../../experiments/recommend';

interface RecommendArgs {
  sweep: string;
  objective: Objective;
  'max-time'?: string;
  'min-accuracy'?: number;
  json: boolean;
}

export const recommendCommand: CommandSpec<RecommendArgs> = {
  command: 'recommend <sweep>',
  describe: 'From a sweep: the Pareto front of energy, time and accuracy, and the configuration that best meets the constraints; one whose repeats overlap the best one\'s is a tie, not a loss',
  operands: {
    sweep: 'A sweep directory (sweep.json)',
  },
  options: {
    objective: { choices: ['energy', 'time', 'edp'] as const, default: 'energy' as const, describe: 'What to minimise: energy of a run (J), its wall time (s), or their product (energy-delay, J s)' },
    'max-time': { type: 'string', describe: 'Only configurations whose mean wall time is at most this (e.g. 90s, 10m)' },
    'min-accuracy': { type: 'number', describe: 'Only configurations whose mean held-out accuracy is at least this (0-1)' },
    json: { type: 'boolean', default: false, describe: 'Print candidates, front, best, ties and verdict as JSON' },
  },
  examples: [
    ['$0 recommend sweeps/lbs-precision --objective energy --min-accuracy 0.9', 'The least energy that reaches 90 % accuracy'],
    ['$0 recommend sweeps/scaling --objective edp --max-time 10m', 'Best energy-delay product within ten minutes'],
  ],
  handler: async (args) => {
    const { recommend } = await import('../../experiments/recommend');
    const { parseDurationS } = await import('../../units');
    const minAccuracy = args['min-accuracy'];
    if (minAccuracy !== undefined && !(minAccuracy >= 0 && minAccuracy <= 1)) throw new JouleError('JOULE_BAD_ARGUMENT', `--min-accuracy must be between 0 and 1, got ${minAccuracy}`);
    const result = recommend(args.sweep, { objective: args.objective, maxTimeS: args['max-time'] === undefined ? undefined : parseDurationS(args['max-time']), minAccuracy });
    if (args.json) return printJson(result);
    const range = (s: { mean: number; min: number; max: number } | null, digits = 4) => (s ? `${s.mean.toPrecision(digits)} (${s.min.toPrecision(3)}-${s.max.toPrecision(3)})` : 'n/a');
    const source = result.candidates[0]?.energySource ?? 'none';
    const rows = result.candidates.map((c) => [
      c.config,
      range(c.energyJ),
      range(c.timeS),
      range(c.accuracy, 3),
      range(c.edpJs),
      `${c.repeats}${c.failedRepeats.length ? ` (+${c.failedRepeats.length} failed)` : ''}`,
      c.pareto ? 'yes' : '',
      c.feasible ? (c.config === result.best ? 'BEST' : result.ties.includes(c.config) ? 'TIE' : 'ok') : c.excludedBy.join('; '),
    ]);
    process.stdout.write(`${formatTable([[`CONFIG`, `ENERGY J [${source}]`, 'TIME s', 'ACCURACY', 'EDP J s', 'REPEATS', 'PARETO', 'CONSTRAINTS'], ...rows])}\n`);
    process.stdout.write(`\nRecommended (minimise ${result.objective}${result.constraints.maxTimeS !== null ? `, time <= ${result.constraints.maxTimeS} s` : ''}${result.constraints.minAccuracy !== null ? `, accuracy >= ${result.constraints.minAccuracy}` : ''}): ${result.verdict}\n`);
    if (!result.best) process.exitCode = 1;
  },
};
