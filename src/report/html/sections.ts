// What a report shows: for a run (summary, power over time, energy breakdown, a pipeline's stages, loss), a sweep (its findings: scaling, energy vs device-hours with its fit, accuracy vs GBS, energy per sample by precision and strategy; the Pareto front) and a comparison.
import path from 'node:path';
import { compare } from '../../experiments/compare';
import { runContext } from '../../experiments/run-context';
import { FIGURE_COLUMNS, runFigures, sweepConfigs, type RunFigures } from '../../experiments/figures';
import { sweepFindings } from '../../experiments/findings';
import { recommend } from '../../experiments/recommend';
import type { RunData } from '../../experiments/run-data';
import { readSweep } from '../../experiments/sweep-dir';
import { fmt, type Row, type Section, type Table } from './page';
import { runTimeline, type PowerPoint, type Span } from './power-series';
import { activityEnergy } from './activity-energy';
import { pipelineSection } from './pipeline';


function figuresTable(columns: RunFigures[], caption: string): Table {
  return {
    caption,
    header: ['figure', ...columns.map((c) => c.label)],
    rows: [
      ...FIGURE_COLUMNS.map(({ key, label, unit }) => [`${label}${unit ? ` (${unit})` : ''}`, ...columns.map((c) => fmt(c[key] as number | null))]),
      ['energy source', ...columns.map((c) => c.energySource ?? 'none')],
      ['per device means', ...columns.map((c) => (c.deviceKind === 'gpu' ? 'per GPU' : 'per rank (no GPU)'))],
    ],
  };
}

/** At most `max` points per domain: bucket means, so an hour at 10 Hz still draws quickly. */
function thin(points: PowerPoint[], max = 1500): PowerPoint[] {
  const byDomain = new Map<string, PowerPoint[]>();
  for (const p of points) byDomain.set(p.domain, [...(byDomain.get(p.domain) ?? []), p]);
  return [...byDomain.values()].flatMap((list) => {
    if (list.length <= max) return list;
    const size = Math.ceil(list.length / max);
    const out: PowerPoint[] = [];
    for (let i = 0; i < list.length; i += size) {
      const bucket = list.slice(i, i + size);
      out.push({ ...bucket[0], timeS: bucket.reduce((s, p) => s + p.timeS, 0) / bucket.length, powerW: bucket.reduce((s, p) => s + p.powerW, 0) / bucket.length });
    }
    return out;
  });
}

/** Spans of the same kind and label closer than `gapS` drawn as one, so thousands of steps' collectives stay a readable chart. */
function mergeSpans(spans: Span[], gapS: number): Span[] {
  const out: Span[] = [];
  const last = new Map<string, Span>();
  for (const span of spans) {
    const key = `${span.kind}/${span.label}`;
    const previous = last.get(key);
    if (previous && span.startS - previous.endS <= gapS) previous.endS = Math.max(previous.endS, span.endS);
    else {
      const copy = { ...span };
      out.push(copy);
      last.set(key, copy);
    }
  }
  return out;
}

export function runSections(run: RunData): Section[] {
  const m = run.manifest;
  const figures = runFigures(run);
  const totals = m.energy?.totals ?? {};
  const sources = Object.entries((totals.sources ?? {}) as Record<string, number>);
  const measured = sources.filter(([s]) => s !== 'model');
  const context = runContext(run);
  const summary: Section = {
    title: `Run ${path.basename(run.dir)}`,
    notes: [
      `Status ${m.status} (exit ${m.exitCode ?? 'n/a'}) after ${fmt(m.durationS) ?? 'n/a'} s; started ${m.startedAt}.`,
      measured.length
        ? `Measured energy ${fmt(totals.measuredJ)} J (${measured.map(([s, j]) => `${s} ${fmt(j)} J`).join(', ')}).${totals.modelJ > 0 ? ` The model adds a separate ${fmt(totals.modelJ)} J estimate for what was not measured; it is never added to the measured figure.` : ''}`
        : `Nothing was measured (no NVML GPU, no readable RAPL counter); the model estimates ${fmt(totals.modelJ) ?? 'n/a'} J (source: model).`,
      ...(m.failure ? [`Failure: ${m.failure.message}`] : []),
    ],
    tables: [
      { caption: 'Manifest', header: ['field', 'value'], rows: [['command', (m.command ?? []).join(' ')], ['run directory', run.dir], ...Object.entries(context).filter(([k]) => k !== 'command').map(([k, v]) => [k, v])] },
      figuresTable([figures], 'Normalized figures'),
    ],
    charts: [],
  };
  const timeline = runTimeline(run.dir);
  const sections: Section[] = [summary];
  if (timeline.power.length) {
    const used = [...new Set(timeline.power.map((p) => p.source))];
    // One table for every layer (the chart's CSV and JSON hold it whole); each layer draws its own kind of row.
    const blank = { timeS: null, endS: null, powerW: null, domain: null, source: null, label: null };
    const lastS = Math.max(...timeline.power.map((p) => p.timeS));
    const spans = mergeSpans(timeline.spans, lastS / 2000);
    const rows: Row[] = [
      ...thin(timeline.power).map((p) => ({ kind: 'power', ...blank, ...p })),
      ...timeline.marks.map((mk) => ({ kind: 'event', ...blank, timeS: mk.timeS, label: mk.label })),
      ...timeline.steps.map((st) => ({ kind: 'step', ...blank, timeS: st.timeS, label: `step ${st.step}` })),
      ...spans.map((sp) => ({ kind: sp.kind, ...blank, timeS: sp.startS, endS: sp.endS, label: sp.label })),
    ];
    const only = (kind: string) => [{ filter: `datum.kind === '${kind}'` }];
    const x = { field: 'timeS', type: 'quantitative', title: 'time since first sample (s)' };
    const layers: Record<string, unknown>[] = [];
    // Collectives as bands behind the lines (full height), phases as a thin band along the top.
    if (spans.some((sp) => sp.kind === 'collective')) layers.push({ transform: only('collective'), mark: { type: 'rect', color: '#e6550d', opacity: 0.25 }, encoding: { x, x2: { field: 'endS' }, tooltip: { field: 'label' } } });
    if (spans.some((sp) => sp.kind === 'phase')) layers.push({ transform: only('phase'), mark: { type: 'rect', color: '#6baed6', opacity: 0.6 }, encoding: { x, x2: { field: 'endS' }, y: { value: 0 }, y2: { value: 6 }, tooltip: { field: 'label' } } });
    layers.push({ transform: only('power'), mark: { type: 'line', interpolate: 'step-after' }, encoding: { x, y: { field: 'powerW', type: 'quantitative', title: 'power (W)' }, color: { field: 'domain', type: 'nominal', title: 'domain' }, strokeDash: { field: 'source', type: 'nominal', title: 'source' } } });
    if (timeline.marks.length) layers.push({ transform: only('event'), mark: { type: 'rule', color: '#888', strokeDash: [4, 3] }, encoding: { x, tooltip: { field: 'label' } } });
    if (timeline.steps.length) layers.push({ transform: only('step'), mark: { type: 'tick', color: '#444', orient: 'vertical', thickness: 1 }, encoding: { x, y: { value: 0 } } });
    const collectives = [...new Set(spans.filter((sp) => sp.kind === 'collective').map((sp) => sp.label))];
    const phases = [...new Set(spans.filter((sp) => sp.kind === 'phase').map((sp) => sp.label))];
    sections.push({
      title: 'Power over time',
      notes: [],
      tables: [],
      charts: [
        {
          id: 'power-over-time',
          title: 'Power per domain.',
          caption: `Energy source: ${used.join(', ')} (nvml: GPU energy counters differentiated; rapl: package/DRAM counters; model: CPU time × the profile's per-core TDP). Orange bands: collectives (${collectives.join(', ') || 'none recorded'}); blue band along the top: phases (${phases.join(', ') || 'none recorded'}); dashed grey lines: run events (${[...new Set(timeline.marks.map((mk) => mk.label))].join(', ') || 'none'}); ticks at the bottom: training steps. Spans are rank 0's power windows; the data's kind column says which row is which.`,
          spec: { layer: layers },
          rows,
        },
      ],
    });
  }
  const breakdown: Row[] = sources.map(([source, joules]) => ({ part: source, group: source === 'model' ? 'model (separate estimate)' : 'measured', energyJ: fmt(joules) }));
  for (const node of m.energy?.nodes ?? []) for (const [domain, joules] of Object.entries((node.domains ?? {}) as Record<string, number>)) breakdown.push({ part: `${node.host} ${domain}`, group: 'domain (measured)', energyJ: fmt(joules) });
  const activities = activityEnergy(run.steps);
  for (const [source, sums] of activities) {
    for (const [part, joules] of [['compute', sums.computeJ], ['communication', sums.commJ], ['idle', sums.idleJ]] as const) breakdown.push({ part: `${part} (${source})`, group: `activity (${source})`, energyJ: fmt(joules) });
  }
  if (breakdown.length) {
    sections.push({
      title: 'Energy breakdown',
      notes: [],
      tables: [],
      charts: [
        {
          id: 'energy-breakdown',
          title: 'Where the joules went.',
          caption: `Energy source: ${sources.map(([s]) => s).join(', ') || 'none'}; by source, by measured domain (GPU, CPU package, DRAM) where the sampler saw them, and by training activity where the trainer split its steps (compute and communication from its power windows inside each step, idle the rest of the step's window, each labelled with its steps' energy source; a pipeline's split is per stage, in its own section). The model's estimate is its own bar, never part of a measured total.`,
          spec: { mark: 'bar', encoding: { y: { field: 'part', type: 'nominal', title: null, sort: null }, x: { field: 'energyJ', type: 'quantitative', title: 'energy (J)' }, color: { field: 'group', type: 'nominal', title: 'kind' } } },
          rows: breakdown,
        },
      ],
    });
  }
  const pipeline = pipelineSection(run);
  if (pipeline) sections.push(pipeline);
  if (run.steps.some((s) => typeof s.loss === 'number')) {
    sections.push({
      title: 'Training',
      notes: [],
      tables: [],
      charts: [
        {
          id: 'loss',
          title: 'Training loss per step (rank 0).',
          caption: 'From steps.jsonl. No energy figure in this chart.',
          spec: { mark: { type: 'line', point: true }, encoding: { x: { field: 'step', type: 'quantitative', title: 'step' }, y: { field: 'loss', type: 'quantitative', title: 'loss' } } },
          rows: run.steps.filter((s) => typeof s.loss === 'number').map((s) => ({ step: s.step, loss: s.loss! })),
        },
      ],
    });
  }
  return sections;
}

export function sweepSections(dir: string): Section[] {
  const index = readSweep(dir);
  const configs = sweepConfigs(dir);
  const source = [...new Set(configs.map((c) => c.mean.energySource))].join(', ') || 'none';
  const sections: Section[] = [
    {
      title: `Sweep ${index.name}`,
      notes: [`${index.points.length} runs planned over ${Object.entries(index.spec.grid).map(([k, v]) => `${k} ∈ {${v.join(', ')}}`).join(' × ') || 'no grid'}, ${index.spec.repeat} repeat(s) each, profile ${index.profile}; ${configs.reduce((n, c) => n + c.runs.length, 0)} succeeded. Energy source: ${source}.`],
      tables: [
        {
          caption: 'Configurations (mean over succeeded repeats)',
          header: ['configuration', 'repeats', 'failed', 'energy (J)', 'J per sample', 'wall time (s)', 'samples/s per device', 'accuracy', 'energy source'],
          rows: configs.map((c) => [c.config, c.runs.length, c.failed.join(', ') || '', fmt(c.mean.energyJ), fmt(c.mean.jPerSample), fmt(c.mean.durationS), fmt(c.mean.samplesPerSPerDevice), fmt(c.mean.finalAccuracy), c.mean.energySource]),
        },
      ],
      charts: [],
    },
  ];
  const charts = sections[0].charts;
  const found = sweepFindings(configs);
  if (found.scaling.length) {
    charts.push({
      id: 'scaling',
      title: 'Speed-up and scaling efficiency against device count.',
      caption: 'Throughput (samples/s) relative to the fewest devices of each series; efficiency = speed-up / device ratio (1 = linear). No energy figure in this chart.',
      spec: { mark: { type: 'line', point: true }, encoding: { x: { field: 'devices', type: 'quantitative', title: 'devices (GPUs, or ranks without GPUs)' }, y: { field: 'value', type: 'quantitative', title: 'speed-up / efficiency' }, color: { field: 'series', type: 'nominal' }, strokeDash: { field: 'measure', type: 'nominal' } } },
      rows: found.scaling.flatMap((r) => [
        { devices: r.devices, series: r.series, measure: 'speed-up', value: fmt(r.speedup) },
        { devices: r.devices, series: r.series, measure: 'efficiency', value: fmt(r.efficiency) },
      ]),
    });
  }
  const points = found.energyVsDeviceHours;
  if (points.length >= 2) {
    const maxH = Math.max(...points.map((p) => p.deviceHours));
    const fitRows = found.fits.filter((f) => f.k !== null).flatMap((f) => [0, maxH].map((h) => ({ group: f.group, deviceHours: h, energyJ: f.k! * h })));
    charts.push({
      id: 'energy-vs-device-hours',
      title: 'Energy against device-hours, with the fit E = k × device-hours.',
      caption: `${found.fits.map((f) => `${f.group}: k = ${f.k === null ? `n/a${f.energySources.length > 1 ? ` (energy from ${f.energySources.join(' and ')}: not fitted together)` : ''}` : `${fmt(f.k)} J per device-hour`}, R² = ${f.r2 === null ? 'n/a' : fmt(f.r2, 3)} (${f.n} runs)`).join('; ')}. Energy source: ${source}.`,
      spec: {
        layer: [
          { mark: { type: 'point', filled: true }, encoding: { x: { field: 'deviceHours', type: 'quantitative', title: 'device-hours' }, y: { field: 'energyJ', type: 'quantitative', title: 'energy (J)' }, color: { field: 'group', type: 'nominal', title: 'model on profile' } } },
          { data: { values: fitRows }, mark: { type: 'line', strokeDash: [6, 3] }, encoding: { x: { field: 'deviceHours', type: 'quantitative' }, y: { field: 'energyJ', type: 'quantitative' }, color: { field: 'group', type: 'nominal' } } },
        ],
      },
      rows: points,
    });
  }
  if (new Set(found.accuracyVsGbs.map((r) => r.gbs)).size > 1) {
    charts.push({
      id: 'accuracy-vs-gbs',
      title: 'Held-out accuracy against global batch size.',
      caption: 'One point per run. No energy figure in this chart.',
      spec: { mark: { type: 'point', filled: true }, encoding: { x: { field: 'gbs', type: 'quantitative', scale: { type: 'log' }, title: 'global batch size' }, y: { field: 'accuracy', type: 'quantitative', title: 'accuracy', scale: { zero: false } }, color: { field: 'series', type: 'nominal' } } },
      rows: found.accuracyVsGbs,
    });
  }
  const perSample = found.energyPerSample.map((r) => ({ ...r, jPerSample: fmt(r.jPerSample) }));
  const precisions = new Set(perSample.map((r) => r.precision)).size;
  const strategies = new Set(perSample.map((r) => r.strategy)).size;
  if (precisions > 1 || strategies > 1) {
    // Bars by precision, one colour per other setting; a column per strategy when the sweep varied it.
    const by = precisions > 1 ? 'precision' : 'strategy';
    charts.push({
      id: 'energy-per-sample-by-precision-and-strategy',
      title: `Energy per sample by ${precisions > 1 && strategies > 1 ? 'precision and strategy' : by}.`,
      caption: `Mean over repeats, one bar per other setting${precisions > 1 && strategies > 1 ? ', one panel per strategy' : ''}. Energy source: ${source}.`,
      spec: {
        mark: 'bar',
        // Two panels side by side share the page's width.
        ...(precisions > 1 && strategies > 1 ? { width: 250 } : {}),
        encoding: {
          x: { field: by, type: 'nominal', title: by === 'precision' ? 'precision (gradient wire)' : 'strategy' },
          xOffset: { field: 'series' },
          y: { field: 'jPerSample', type: 'quantitative', title: 'energy per sample (J)' },
          color: { field: 'series', type: 'nominal' },
          ...(precisions > 1 && strategies > 1 ? { column: { field: 'strategy', type: 'nominal', title: 'strategy' } } : {}),
        },
      },
      rows: perSample,
    });
  }
  try {
    const rec = recommend(dir);
    const rows = rec.candidates.filter((c) => c.energyJ && c.timeS).map((c) => ({ config: c.config, energyJ: fmt(c.energyJ!.mean), timeS: fmt(c.timeS!.mean), accuracy: fmt(c.accuracy?.mean ?? null), front: c.pareto ? 'Pareto front' : 'dominated' }));
    charts.push({
      id: 'pareto-front',
      title: 'Energy against time: the Pareto front.',
      caption: `Front over energy, time${rec.candidates.every((c) => c.accuracy) ? ' and accuracy' : ''} (means over repeats); least energy: ${rec.verdict}. Energy source: ${source}.`,
      spec: { mark: { type: 'point', filled: true, size: 80 }, encoding: { x: { field: 'timeS', type: 'quantitative', title: 'wall time (s)', scale: { zero: false } }, y: { field: 'energyJ', type: 'quantitative', title: 'energy (J)', scale: { zero: false } }, color: { field: 'front', type: 'nominal', title: null }, tooltip: [{ field: 'config' }, { field: 'accuracy' }] } },
      rows,
    });
  } catch (error) {
    sections[0].notes.push(`No Pareto front: ${(error as Error).message}`);
  }
  return sections;
}

export function comparisonSections(paths: string[]): Section[] {
  const result = compare(paths);
  const labels = result.columns.map((c) => c.label);
  const sections: Section[] = [
    {
      title: 'Side by side',
      notes: result.lossCurves.map((check) => `Loss curve ${check.b} vs ${check.a}: ${!check.comparable ? `not comparable (${check.reason})` : check.ok ? (check.bitwiseEqual ? `bitwise equal over ${check.steps} steps` : `within tolerance ${check.tolerance} over ${check.steps} steps`) : `drift from step ${check.firstDriftStep} (max relative difference ${fmt(check.maxRelDiff)})`}.`),
      tables: [
        figuresTable(result.columns, 'Normalized figures'),
        { caption: 'What differs besides the numbers', header: ['field', ...labels], rows: result.differences.map((d) => [d.field, ...d.values]) },
        { caption: 'The same everywhere', header: ['field', 'value'], rows: Object.entries(result.same) },
        ...(result.findings?.fits.length
          ? [{ caption: 'Energy ≈ k × device-hours per model and profile, over every sweep compared (Huber et al.)', header: ['model on profile', 'k (J per device-hour)', 'R²', 'runs', 'energy source'], rows: result.findings.fits.map((f) => [f.group, fmt(f.k), fmt(f.r2, 3), f.n, f.energySources.join(', ')]) }]
          : []),
      ],
      charts: [],
    },
  ];
  for (const key of ['jPerSample', 'samplesPerSPerDevice', 'wPerDevice'] as const) {
    const column = FIGURE_COLUMNS.find((c) => c.key === key)!;
    const rows = result.columns.map((c) => ({ label: c.label, value: fmt(c[key] as number | null), source: c.energySource ?? 'none' })).filter((r) => r.value !== null);
    if (!rows.length) continue;
    const energy = key !== 'samplesPerSPerDevice';
    sections[0].charts.push({
      id: `compare-${key}`,
      title: `${column.label}${column.unit ? ` (${column.unit})` : ''}.`,
      caption: energy ? `Energy source per bar: ${rows.map((r) => `${r.label} ${r.source}`).join(', ')}.` : 'No energy figure in this chart.',
      spec: { mark: 'bar', encoding: { y: { field: 'label', type: 'nominal', title: null, sort: null }, x: { field: 'value', type: 'quantitative', title: `${column.label}${column.unit ? ` (${column.unit})` : ''}` }, ...(energy ? { color: { field: 'source', type: 'nominal', title: 'energy source' } } : {}) } },
      rows,
    });
  }
  return sections;
}
