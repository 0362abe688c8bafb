// Where a model may be cut into pipeline stages (exactly one tensor crosses), and the cut that balances
// the stages' forward FLOPs or the one the user gave.
import type * as tf from '@tensorflow/tfjs';
import { JouleError } from '../../errors';
import type { ModelSpec } from '../models';

type Symbolic = tf.SymbolicTensor;

/** One stage: layers [first, end) of ModelSpec.layers, the tensor it takes and the one it gives. */
export interface StagePlan {
  first: number;
  end: number;
  input: Symbolic;
  output: Symbolic;
  flopsPerSample: number;
  parameters: number;
}

export interface Split {
  /** 'flops' (balanced) or 'user'. */
  mode: 'flops' | 'user';
  /** The first layer of each stage after the first. */
  cuts: number[];
  stages: StagePlan[];
}

/** The layers after the input, in forward order (the order of ModelSpec.layers). */
export function computeLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.filter((layer) => layer.getClassName() !== 'InputLayer');
}

const inputsOf = (layer: tf.layers.Layer): Symbolic[] => (layer.inboundNodes[0].inputTensors as Symbolic[]);

/** For each layer index c (1 … n−1) where exactly one tensor crosses between layers < c and layers ≥ c: that tensor. */
export function cutPoints(model: tf.LayersModel): Map<number, Symbolic> {
  const layers = computeLayers(model);
  const producer = new Map<number, number>(model.inputs.map((t) => [t.id, -1]));
  const lastUse = new Map<number, number>();
  layers.forEach((layer, i) => {
    if (layer.inboundNodes.length !== 1) throw new Error(`layer ${layer.name} is applied ${layer.inboundNodes.length} times; pipeline stages need each layer once`);
    producer.set((layer.output as Symbolic).id, i);
    for (const t of inputsOf(layer)) lastUse.set(t.id, i);
  });
  for (const t of model.outputs) lastUse.set(t.id, layers.length);
  const tensors = new Map<number, Symbolic>([...model.inputs.map((t) => [t.id, t] as const), ...layers.map((l) => [(l.output as Symbolic).id, l.output as Symbolic] as const)]);
  const cuts = new Map<number, Symbolic>();
  for (let c = 1; c < layers.length; c++) {
    const crossing = [...tensors.values()].filter((t) => producer.get(t.id)! < c && (lastUse.get(t.id) ?? -1) >= c);
    if (crossing.length === 1) cuts.set(c, crossing[0]);
  }
  return cuts;
}

function bad(message: string): JouleError {
  return new JouleError('JOULE_BAD_ARGUMENT', message);
}

/** The stages of `spec` for --stages K and --split (auto|flops|comma-separated first-layer indices). */
export function planSplit(spec: ModelSpec, stages: number, split: string): Split {
  const cuts = cutPoints(spec.model);
  const valid = [...cuts.keys()];
  const layers = spec.layers;
  const listing = () => valid.map((c) => `${c} (before ${layers[c].name})`).join(', ');
  if (stages - 1 > valid.length) {
    throw bad(`model ${spec.name} has ${valid.length} cut point${valid.length === 1 ? '' : 's'} where one tensor crosses (${listing()}); --stages ${stages} needs ${stages - 1}`);
  }
  let chosen: number[];
  let mode: Split['mode'];
  if (split === 'auto' || split === 'flops') {
    chosen = balancedCuts(layers.map((l) => l.flopsPerSample), valid, stages);
    mode = 'flops';
  } else {
    if (!/^\s*\d+(\s*,\s*\d+)*\s*$/.test(split)) throw bad(`--split takes auto, flops or the first layer index of each stage after the first, e.g. "${valid.slice(0, stages - 1).join(',')}"; got "${split}"`);
    chosen = split.split(',').map(Number);
    mode = 'user';
    if (chosen.length !== stages - 1) throw bad(`--split ${split} gives ${chosen.length + 1} stage${chosen.length ? 's' : ''}; --stages ${stages} needs ${stages - 1} cut${stages === 2 ? '' : 's'}`);
    chosen.forEach((c, i) => {
      if (c <= 0 || c >= layers.length) throw bad(`--split ${split}: ${c} is outside the model (layers 1 … ${layers.length - 1} can start a stage; every stage needs a layer, and the stages together must cover the model)`);
      if (i > 0 && c <= chosen[i - 1]) throw bad(`--split ${split}: indices must increase`);
      if (!cuts.has(c)) throw bad(`--split ${split}: more than one tensor crosses before layer ${c} (${layers[c].name}); valid cut points of ${spec.name}: ${listing()}`);
    });
  }
  const bounds = [0, ...chosen, layers.length];
  const plans = bounds.slice(0, -1).map((first, s) => {
    const end = bounds[s + 1];
    const part = layers.slice(first, end);
    return {
      first,
      end,
      input: first === 0 ? spec.model.inputs[0] : cuts.get(first)!,
      output: end === layers.length ? spec.model.outputs[0] : cuts.get(end)!,
      flopsPerSample: part.reduce((t, l) => t + l.flopsPerSample, 0),
      parameters: part.reduce((t, l) => t + l.parameters, 0),
    };
  });
  return { mode, cuts: chosen, stages: plans };
}

/** K−1 of the valid cuts minimising the largest stage's FLOPs (dynamic programming over the cut points). */
function balancedCuts(flops: number[], valid: number[], stages: number): number[] {
  const prefix = [0];
  for (const f of flops) prefix.push(prefix[prefix.length - 1] + f);
  const points = [0, ...valid, flops.length];
  const cost = (a: number, b: number) => prefix[points[b]] - prefix[points[a]];
  // best[k][j]: the least possible largest stage when layers before points[j] form k stages.
  const best = Array.from({ length: stages + 1 }, () => new Array<number>(points.length).fill(Infinity));
  const from = Array.from({ length: stages + 1 }, () => new Array<number>(points.length).fill(-1));
  best[0][0] = 0;
  for (let k = 1; k <= stages; k++) {
    for (let j = 1; j < points.length; j++) {
      for (let i = 0; i < j; i++) {
        const value = Math.max(best[k - 1][i], cost(i, j));
        if (value < best[k][j]) [best[k][j], from[k][j]] = [value, i];
      }
    }
  }
  const cuts: number[] = [];
  for (let k = stages, j = points.length - 1; k > 1; k--) {
    j = from[k][j];
    cuts.unshift(points[j]);
  }
  return cuts;
}
