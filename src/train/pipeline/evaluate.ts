// Held-out evaluation through the pipeline: each replica scores its share of the test split, micro-batch
// by micro-batch down its stages (inference mode), and one allreduce makes the job's figures.
import * as tf from '@tensorflow/tfjs';
import type { Communicator } from '../../comm/communicator';
import type { Dataset } from '../data';
import type { Evaluation } from '../evaluate';
import { lossAndCorrect, type ModelSpec } from '../models';
import { messageTag } from './links';
import type { Stage } from './stage';

const EVAL_BATCH = 64;

export interface EvaluationLinks {
  activationsIn: Communicator | null;
  activationsOut: Communicator | null;
}

/** Every rank calls this at the same point; `world` sums the last stages' figures. */
export async function evaluatePipeline(spec: ModelSpec, dataset: Dataset, stage: Stage, s: number, replica: number, replicas: number, links: EvaluationLinks, world: Communicator): Promise<Evaluation> {
  const sums = new Float64Array(3); // loss × counted, correct, counted
  const mine: number[] = [];
  for (let i = replica; i < dataset.testSize; i += replicas) mine.push(i);
  let sending: Promise<void> = Promise.resolve();
  for (let start = 0; start < mine.length; start += EVAL_BATCH) {
    const tag = messageTag('activations', start / EVAL_BATCH);
    const indices = mine.slice(start, start + EVAL_BATCH);
    const batch = stage.first || stage.last ? dataset.batch('test', indices) : null;
    let x = stage.first ? batch!.x : null;
    if (!stage.first) {
      const buffer = new Float32Array(indices.length * stage.inputSize);
      await links.activationsIn!.recv(buffer, s - 1, tag);
      x = tf.tensor(buffer, [indices.length, ...stage.inputShape]);
    }
    if (stage.last) {
      tf.tidy(() => {
        const { loss, correct, counted } = lossAndCorrect(spec, stage.forward(x!, false), batch!.labels);
        sums[0] += loss.dataSync()[0] * counted;
        sums[1] += correct.dataSync()[0];
        sums[2] += counted;
      });
    } else {
      const out = tf.tidy(() => stage.forward(x!, false));
      const data = (out.dataSync() as Float32Array).slice();
      out.dispose();
      // One send in flight per link, in order (as in training): the stage computes its next batch meanwhile.
      sending = sending.then(() => links.activationsOut!.send(data, s + 1, tag));
    }
    tf.dispose([x!, ...(batch ? [batch.x, batch.labels] : [])]);
  }
  await sending;
  await world.allreduce(sums, { op: 'sum' });
  if (sums[2] === 0) return { loss: null, accuracy: null, samples: 0 };
  return { loss: sums[0] / sums[2], accuracy: sums[1] / sums[2], samples: sums[2] };
}
