// Held-out evaluation: each rank scores its share of the test split, one allreduce makes the job's figures.
import * as tf from '@tensorflow/tfjs';
import type { Communicator } from '../comm/communicator';
import type { Dataset } from './data';
import { lossAndCorrect, type ModelSpec } from './models';

const EVAL_BATCH = 256;

export interface Evaluation {
  loss: number | null;
  accuracy: number | null;
  samples: number;
}

export async function evaluate(spec: ModelSpec, dataset: Dataset, rank: number, size: number, comm: Communicator | null): Promise<Evaluation> {
  const sums = new Float64Array(3); // loss × counted, correct, counted
  const mine: number[] = [];
  for (let i = rank; i < dataset.testSize; i += size) mine.push(i);
  for (let start = 0; start < mine.length; start += EVAL_BATCH) {
    const batch = dataset.batch('test', mine.slice(start, start + EVAL_BATCH));
    tf.tidy(() => {
      const logits = spec.model.apply(batch.x, { training: false }) as tf.Tensor;
      const { loss, correct, counted } = lossAndCorrect(spec, logits, batch.labels);
      sums[0] += loss.dataSync()[0] * counted;
      sums[1] += correct.dataSync()[0];
      sums[2] += counted;
    });
    tf.dispose([batch.x, batch.labels]);
  }
  if (comm) await comm.allreduce(sums, { op: 'sum' });
  if (sums[2] === 0) return { loss: null, accuracy: null, samples: 0 };
  return { loss: sums[0] / sums[2], accuracy: sums[1] / sums[2], samples: sums[2] };
}
