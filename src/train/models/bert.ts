// bert-mini: a BERT-style transformer encoder (Devlin et al. 2018) for the masked-token objective, sized for CPUs.
import * as tf from '@tensorflow/tfjs';
import { Initializer, SeededInitializers } from './initializers';

export const bertMiniDefaults = { layers: 2, hidden: 64, heads: 2, feedForward: 256, seqLength: 32, vocabSize: 4096 };

/** BERT's layer norm epsilon. */
const layerNormEpsilon = 1e-12;

/** Learned absolute positions, added to the token embeddings. */
export class PositionEmbedding extends tf.layers.Layer {
  static readonly className = 'JoulePositionEmbedding';
  private readonly initializer: Initializer;
  private embeddings: tf.LayerVariable | null = null;

  constructor(args: { name?: string; initializer?: Initializer }) {
    super({ name: args.name });
    // Deserialised models load their weights afterwards, so zeros are only a placeholder there.
    this.initializer = args.initializer ?? tf.initializers.zeros();
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    this.embeddings = this.addWeight('embeddings', [shape[1] as number, shape[2] as number], 'float32', this.initializer);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.add(x, (this.embeddings as tf.LayerVariable).read());
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }
}

/**
 * Multi-head scaled dot-product attention over projected [query, key, value] ([batch, seq, hidden] each): splits
 * heads, softmax(QKᵀ/√d)·V, merges heads. Holds no weights; the projections are ordinary dense layers.
 */
export class MultiHeadAttention extends tf.layers.Layer {
  static readonly className = 'JouleMultiHeadAttention';
  readonly heads: number;
  private flops = 0;

  constructor(args: { name?: string; heads: number }) {
    super({ name: args.name });
    this.heads = args.heads;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    // QKᵀ and weights·V: seq² × hidden multiply-adds each.
    const [, seqLength, hidden] = (inputShape as tf.Shape[])[0] as number[];
    this.flops = 2 * 2 * seqLength * seqLength * hidden;
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [query, key, value] = inputs as tf.Tensor[];
    return tf.tidy(() => {
      const [, seqLength, hidden] = query.shape;
      const headSize = hidden / this.heads;
      const split = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [-1, seqLength, this.heads, headSize]), [0, 2, 1, 3]);
      const scores = tf.mul(tf.matMul(split(query), split(key), false, true), 1 / Math.sqrt(headSize));
      const context = tf.matMul(tf.softmax(scores), split(value));
      return tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [-1, seqLength, hidden]);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return (inputShape as tf.Shape[])[0];
  }

  flopsPerSample(): number {
    return this.flops;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), heads: this.heads };
  }
}

tf.serialization.registerClass(PositionEmbedding);
tf.serialization.registerClass(MultiHeadAttention);

/**
 * Token + position embeddings, layer norm, then post-norm encoder layers (attention, add & norm, GELU
 * feed-forward, add & norm) and BERT's masked-LM head (dense + GELU + layer norm, then vocabulary logits).
 * Differences from BERT, for determinism and size: no dropout, no token-type embeddings, no attention mask (all
 * sequences are full length), and the output layer is not tied to the token embeddings.
 */
export function buildBertMini(seqLength: number, vocabSize: number, seed: number): tf.LayersModel {
  const { layers, hidden, heads, feedForward } = bertMiniDefaults;
  const init = new SeededInitializers(seed);
  type Symbolic = tf.SymbolicTensor;
  const dense = (x: Symbolic, units: number, name: string, activation?: 'gelu') =>
    tf.layers.dense({ name, units, activation, kernelInitializer: init.bert() }).apply(x) as Symbolic;
  const norm = (x: Symbolic, name: string) => tf.layers.layerNormalization({ name, epsilon: layerNormEpsilon }).apply(x) as Symbolic;
  const add = (a: Symbolic, b: Symbolic, name: string) => tf.layers.add({ name }).apply([a, b]) as Symbolic;

  const tokens = tf.input({ name: 'tokens', shape: [seqLength], dtype: 'int32' });
  let x = tf.layers.embedding({ name: 'token_embedding', inputDim: vocabSize, outputDim: hidden, embeddingsInitializer: init.bert() }).apply(tokens) as Symbolic;
  x = new PositionEmbedding({ name: 'position_embedding', initializer: init.bert() }).apply(x) as Symbolic;
  x = norm(x, 'embedding_norm');
  for (let l = 1; l <= layers; l++) {
    const name = `encoder${l}`;
    const projected = ['query', 'key', 'value'].map((part) => dense(x, hidden, `${name}_${part}`));
    const context = new MultiHeadAttention({ name: `${name}_attention`, heads }).apply(projected) as Symbolic;
    x = norm(add(x, dense(context, hidden, `${name}_attention_output`), `${name}_attention_add`), `${name}_attention_norm`);
    const inner = dense(x, feedForward, `${name}_ffn_in`, 'gelu');
    x = norm(add(x, dense(inner, hidden, `${name}_ffn_out`), `${name}_ffn_add`), `${name}_ffn_norm`);
  }
  x = norm(dense(x, hidden, 'mlm_transform', 'gelu'), 'mlm_norm');
  const logits = dense(x, vocabSize, 'logits');
  return tf.model({ name: 'bert_mini', inputs: tokens, outputs: logits });
}
