// The training objective of each task: loss over the counted targets and the number predicted right.
import * as tf from '@tensorflow/tfjs';
import { JouleError } from '../../errors';
import type { ModelSpec } from './index';

export interface LossAndCorrect {
  /** Mean cross-entropy over the counted targets (0 when none are counted). */
  loss: tf.Scalar;
  /** Targets whose arg-max logit is the label. */
  correct: tf.Scalar;
  /** Targets counted: samples for classification, masked positions for masked-lm. */
  counted: number;
}

/**
 * classification: softmax cross-entropy of logits [n, classes] against int32 labels [n].
 * masked-lm: the same per position of logits [n, seq, vocab] against labels [n, seq], counting only positions whose
 * label is not -1 (the masked ones). Differentiable in the logits; reads the labels (small) to count targets.
 */
export function lossAndCorrect(spec: Pick<ModelSpec, 'task' | 'numClasses'>, logits: tf.Tensor, labels: tf.Tensor): LossAndCorrect {
  const expectedRank = spec.task === 'classification' ? 1 : 2;
  if (labels.dtype !== 'int32' || labels.rank !== expectedRank || logits.rank !== expectedRank + 1 || logits.shape[logits.rank - 1] !== spec.numClasses) {
    // Labels come from a data set (perhaps a user's): say what does not fit.
    throw new JouleError('JOULE_BAD_DATA', `${spec.task}: logits [${logits.shape}] and ${labels.dtype} labels [${labels.shape}] do not fit ${spec.numClasses} classes (labels: int32 [n]${spec.task === 'masked-lm' ? ', seqLength' : ''})`);
  }
  const counted = spec.task === 'classification' ? labels.shape[0] : countMasked(labels);
  return tf.tidy(() => {
    const flatLogits = tf.reshape(logits, [-1, spec.numClasses]);
    const flatLabels = tf.reshape(labels, [-1]);
    const counts = tf.cast(tf.greaterEqual(flatLabels, 0), 'float32');
    // Not-masked positions (-1) look up class 0 and are then weighted by 0.
    const targets = tf.oneHot(tf.maximum(flatLabels, tf.scalar(0, 'int32')) as tf.Tensor1D, spec.numClasses);
    const crossEntropy = tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(flatLogits)), -1));
    const loss = tf.div(tf.sum(tf.mul(crossEntropy, counts)), Math.max(counted, 1)) as tf.Scalar;
    const hits = tf.cast(tf.equal(tf.argMax(flatLogits, -1), flatLabels), 'float32');
    const correct = tf.sum(tf.mul(hits, counts)) as tf.Scalar;
    return { loss, correct, counted };
  });
}

function countMasked(labels: tf.Tensor): number {
  const values = labels.dataSync();
  let counted = 0;
  for (let i = 0; i < values.length; i++) if (values[i] >= 0) counted++;
  return counted;
}
