// What a validation report shows: each estimation method's error against the measured energy of runs, sweeps and traces (joule estimate --validate as tables and charts).
import { loadTrace, validate } from '../../estimate';
import { loadHardware } from '../../estimate/hardware';
import { besideEpochs, expandTracePaths } from '../../estimate/import/paths';
import { fmt, type Row, type Section } from './page';


export interface ValidationOptions {
  /** Profile for traces that carry none (CSV imports): TDPs, cores, PUE. Run directories use their own. */
  profile?: string;
  /** A fixed stabilizing epoch instead of the detected one. */
  stabilizingEpoch?: number;
}

export function validationSections(paths: string[], options: ValidationOptions = {}): Section[] {
  const loaded = expandTracePaths(paths).map((file) => loadTrace(file, { epochsFile: besideEpochs(file) }));
  const v = validate(loaded, { hardware: options.profile ? loadHardware(options.profile) : undefined, s: options.stabilizingEpoch });
  const truth = v.truthSources.join(', ') || 'none';
  const modelTruth = v.truthSources.includes('model') ? ' A "model" ground truth is joule\'s energy model (CPU time × TDP), not a measurement: errors against it say how the methods agree with that model, not with the hardware.' : '';
  const answered = v.methods.filter((m) => m.n > 0);
  const rows: Row[] = answered.map((m) => ({ method: m.method, n: m.n, mapePct: fmt(m.mapePct), rmseKJ: fmt(m.rmseKJ), worstPct: fmt(m.worst?.errorPct), worstTrace: m.worst?.name ?? null, truth }));
  const bars = (field: string, title: string) => ({
    mark: 'bar',
    encoding: { y: { field: 'method', type: 'nominal', title: null, sort: null }, x: { field, type: 'quantitative', title }, tooltip: [{ field: 'n' }, { field: 'worstPct' }, { field: 'worstTrace' }] },
  });
  const caption = `Ground truth: the energy each trace measured (energy source: ${truth}), by the trapezoid rule over its power samples; each method projects from the trace's beginning, the GPU-hours law fitted leave-one-out on the other runs of the same model and profile.${modelTruth}`;
  return [
    {
      title: `Estimation methods against measured energy (${v.traces.length} traces)`,
      notes: [
        `Validated: ${paths.join(', ')}. Ground truth energy source: ${truth}.${modelTruth}`,
        v.tdpOverStepRmse !== null ? `TDP RMSE over STEP RMSE: ${fmt(v.tdpOverStepRmse, 3)}× (del Rey et al. found about 24× on their GPU traces: RMSE 7.3 kJ against 177–187 kJ).` : 'TDP over STEP: not both answered on these traces.',
      ],
      tables: [
        {
          caption: 'Errors per method',
          header: ['method', 'n', 'RMSE (kJ)', 'MAPE (%)', 'worst case (%)', 'worst trace', 'unanswered'],
          rows: v.methods.map((m) => [m.method, m.n, m.n ? fmt(m.rmseKJ) : null, m.n ? fmt(m.mapePct) : null, fmt(m.worst?.errorPct), m.worst?.name ?? null, m.unanswered ? `${m.unanswered}: ${m.firstLack}` : 0]),
        },
        {
          caption: 'Traces',
          header: ['trace', 'measured energy (J)', 'energy source', 'epochs', 'stabilizing epoch'],
          rows: v.traces.map((t) => [t.name, fmt(t.measuredJ), t.source, t.epochs, t.stabilizingEpoch === null ? `none (${t.stabilizingHow})` : `${t.stabilizingEpoch} (${t.stabilizingHow})`]),
        },
      ],
      charts: rows.length
        ? [
            { id: 'validation-mape', title: 'Mean absolute percentage error per method.', caption, spec: bars('mapePct', `MAPE (%) against ${truth} energy`), rows },
            { id: 'validation-rmse', title: 'Root mean square error per method.', caption, spec: bars('rmseKJ', `RMSE (kJ) against ${truth} energy`), rows },
          ]
        : [],
    },
  ];
}
