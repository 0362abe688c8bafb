// Models: parameters and FLOPs against hand counts and torchvision's, seeded weights, shapes, the loss, and learning.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { isJouleError } from '../../src/errors';
import { buildModel, lossAndCorrect, modelDefaults, modelNames, type ModelSpec } from '../../src/train/models';

/** Every weight's bytes, trainable or not, in model order. */
function weightBytes(spec: ModelSpec): Buffer[] {
  return spec.model.getWeights().map((w) => Buffer.from((w.dataSync() as Float32Array).buffer));
}

function layer(spec: ModelSpec, name: string) {
  const found = spec.layers.find((l) => l.name === name);
  assert.ok(found, `layer ${name} in ${spec.layers.map((l) => l.name).join(', ')}`);
  return found;
}

/** A few Adam steps on one fixed batch; returns the loss before each step. */
function trainSteps(spec: ModelSpec, x: tf.Tensor, labels: tf.Tensor, steps: number, learningRate: number): number[] {
  const optimizer = tf.train.adam(learningRate);
  const variables = spec.model.trainableWeights.map((w) => w.read() as tf.Variable);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const loss = optimizer.minimize(() => lossAndCorrect(spec, spec.model.apply(x, { training: true }) as tf.Tensor, labels).loss, true, variables) as tf.Scalar;
    losses.push(loss.dataSync()[0]);
    loss.dispose();
  }
  optimizer.dispose();
  return losses;
}

describe('train models', function () {
  before(async function () {
    // The cpu backend has every training kernel; wasm gets joule's kernels elsewhere.
    await tf.setBackend('cpu');
  });

  it('lists the models and rejects an unknown one with JOULE_UNKNOWN_MODEL', function () {
    assert.deepEqual([...modelNames].sort(), ['bert-mini', 'mlp', 'resnet-mini', 'resnet18', 'resnet50']);
    assert.throws(() => buildModel('resnet-9000', { seed: 1 }), (e: unknown) => isJouleError(e, 'JOULE_UNKNOWN_MODEL') && /resnet-mini/.test(e.message));
    assert.throws(() => buildModel('toString', { seed: 1 }), (e: unknown) => isJouleError(e, 'JOULE_UNKNOWN_MODEL'));
    assert.throws(() => buildModel('resnet-mini', { seed: 1, inputShape: [28, 28] }), (e: unknown) => isJouleError(e, 'JOULE_BAD_ARGUMENT'));
    assert.deepEqual(modelDefaults('resnet50'), { task: 'classification', inputShape: [224, 224, 3], numClasses: 1000 });
    assert.deepEqual(modelDefaults('bert-mini'), { task: 'masked-lm', inputShape: [32], numClasses: 4096 });
    assert.throws(() => modelDefaults('gpt'), (e: unknown) => isJouleError(e, 'JOULE_UNKNOWN_MODEL'));
  });

  it('mlp: 784·128+128 + 128·10+10 parameters, 2·(784·128 + 128·10) FLOPs', function () {
    const spec = buildModel('mlp', { seed: 1 });
    assert.equal(spec.parameters, 784 * 128 + 128 + 128 * 10 + 10);
    assert.equal(spec.flopsPerSample, 2 * (784 * 128 + 128 * 10));
    assert.deepEqual(spec.layers.map((l) => l.name), ['flatten', 'hidden', 'logits']);
  });

  it('resnet-mini: 77 754 trainable parameters and its FLOPs, layer by layer', function () {
    const spec = buildModel('resnet-mini', { seed: 1 });
    assert.equal(spec.parameters, 77_754);
    assert.equal(spec.task, 'classification');
    // Batch norm holds 2 trainable (γ, β) and 2 moving statistics per channel: 16 + 16 + 16 + 32 + 32 + 32 + 64 + 64 + 64 channels.
    assert.equal(spec.model.countParams() - spec.parameters, 2 * (16 * 3 + 32 * 3 + 64 * 3));
    assert.deepEqual(layer(spec, 'stem_conv'), { name: 'stem_conv', parameters: 3 * 3 * 1 * 16, flopsPerSample: 2 * 3 * 3 * 1 * 16 * 28 * 28 });
    assert.deepEqual(layer(spec, 'stem_bn'), { name: 'stem_bn', parameters: 2 * 16, flopsPerSample: 0 });
    assert.deepEqual(layer(spec, 'stage2_block1_conv1'), { name: 'stage2_block1_conv1', parameters: 9 * 16 * 32, flopsPerSample: 2 * 9 * 16 * 32 * 14 * 14 });
    assert.deepEqual(layer(spec, 'stage3_block1_shortcut_conv'), { name: 'stage3_block1_shortcut_conv', parameters: 32 * 64, flopsPerSample: 2 * 32 * 64 * 7 * 7 });
    assert.deepEqual(layer(spec, 'logits'), { name: 'logits', parameters: 64 * 10 + 10, flopsPerSample: 2 * 64 * 10 });
    assert.equal(spec.layers.some((l) => l.name === 'stage1_block1_shortcut_conv'), false, '16→16 stride 1 keeps the identity shortcut');
    const convFlops = (k: number, cin: number, cout: number, side: number) => 2 * k * k * cin * cout * side * side;
    const expected =
      convFlops(3, 1, 16, 28) +
      2 * convFlops(3, 16, 16, 28) +
      convFlops(3, 16, 32, 14) + convFlops(3, 32, 32, 14) + convFlops(1, 16, 32, 14) +
      convFlops(3, 32, 64, 7) + convFlops(3, 64, 64, 7) + convFlops(1, 32, 64, 7) +
      2 * 64 * 10;
    assert.equal(spec.flopsPerSample, expected);
    assert.equal(spec.layers.reduce((s, l) => s + l.parameters, 0), spec.parameters);
  });

  it('resnet18 and resnet50 match torchvision: 11 689 512 and 25 557 032 parameters, 1.81 and 4.09 G multiply-adds', function () {
    this.timeout(120_000);
    const resnet18 = buildModel('resnet18', { seed: 1 });
    assert.deepEqual(resnet18.inputShape, [224, 224, 3]);
    assert.equal(resnet18.parameters, 11_689_512);
    // torchvision's model table lists GFLOPS as multiply-adds: 1.81 (resnet18) and 4.09 (resnet50, v1.5).
    assert.equal((resnet18.flopsPerSample / 2 / 1e9).toFixed(2), '1.81');
    resnet18.model.dispose();
    const resnet50 = buildModel('resnet50', { seed: 1 });
    assert.equal(resnet50.parameters, 25_557_032);
    assert.equal((resnet50.flopsPerSample / 2 / 1e9).toFixed(2), '4.09');
    assert.deepEqual(layer(resnet50, 'stage1_block1_shortcut_conv'), { name: 'stage1_block1_shortcut_conv', parameters: 64 * 256, flopsPerSample: 2 * 64 * 256 * 56 * 56 });
    resnet50.model.dispose();
  });

  it('bert-mini: parameters and FLOPs from its configuration', function () {
    const [seq, vocab, hidden, ffn, layers] = [16, 100, 64, 256, 2];
    const spec = buildModel('bert-mini', { seed: 1, inputShape: [seq], numClasses: vocab });
    assert.equal(spec.task, 'masked-lm');
    const dense = (i: number, o: number) => i * o + o;
    const perLayer = 4 * dense(hidden, hidden) + 2 * hidden + dense(hidden, ffn) + dense(ffn, hidden) + 2 * hidden;
    const expectedParameters = vocab * hidden + seq * hidden + 2 * hidden + layers * perLayer + dense(hidden, hidden) + 2 * hidden + dense(hidden, vocab);
    assert.equal(spec.parameters, expectedParameters);
    const attention = 2 * seq * seq * hidden * 2; // QKᵀ and weights·V, over all heads
    assert.deepEqual(layer(spec, 'encoder1_attention'), { name: 'encoder1_attention', parameters: 0, flopsPerSample: attention });
    const perLayerFlops = 4 * 2 * seq * hidden * hidden + attention + 2 * 2 * seq * hidden * ffn;
    assert.equal(spec.flopsPerSample, layers * perLayerFlops + 2 * seq * hidden * hidden + 2 * seq * hidden * vocab);
    assert.equal(layer(spec, 'token_embedding').flopsPerSample, 0);
  });

  it('the same seed gives the same weights, bitwise; another seed other weights', function () {
    for (const name of ['resnet-mini', 'bert-mini']) {
      const a = weightBytes(buildModel(name, { seed: 42 }));
      const b = weightBytes(buildModel(name, { seed: 42 }));
      const c = weightBytes(buildModel(name, { seed: 43 }));
      assert.equal(a.length, b.length);
      a.forEach((bytes, i) => assert.ok(bytes.equals(b[i]), `${name} weight ${i} differs between two builds with seed 42`));
      assert.ok(a.some((bytes, i) => !bytes.equals(c[i])), `${name}: seeds 42 and 43 gave the same weights`);
    }
    // Two layers of one build do not share a seed.
    const spec = buildModel('resnet-mini', { seed: 42 });
    const conv1 = spec.model.getLayer('stage1_block1_conv1').getWeights()[0].dataSync();
    const conv2 = spec.model.getLayer('stage1_block1_conv2').getWeights()[0].dataSync();
    assert.notDeepEqual(Array.from(conv1), Array.from(conv2));
  });

  it('forward shapes: logits per sample, per position for masked-lm, with shapes from the data set', function () {
    const resnet = buildModel('resnet-mini', { seed: 1, inputShape: [32, 32, 3], numClasses: 5 });
    assert.deepEqual((resnet.model.predict(tf.zeros([3, 32, 32, 3])) as tf.Tensor).shape, [3, 5]);
    const bert = buildModel('bert-mini', { seed: 1, inputShape: [12], numClasses: 50 });
    assert.deepEqual((bert.model.predict(tf.zeros([2, 12], 'int32')) as tf.Tensor).shape, [2, 12, 50]);
  });

  it('batch norm updates its moving statistics when applied with training: true, not in inference', function () {
    const spec = buildModel('resnet-mini', { seed: 1 });
    const movingMean = () => Array.from(spec.model.getLayer('stem_bn').getWeights()[2].dataSync());
    const before = movingMean();
    const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 5);
    spec.model.predict(x);
    assert.deepEqual(movingMean(), before);
    spec.model.apply(x, { training: true });
    assert.notDeepEqual(movingMean(), before);
  });

  it('lossAndCorrect, classification: mean softmax cross-entropy and arg-max hits on a hand-checked case', function () {
    const logits = tf.tensor2d([[2, 0, 0], [0, 1, 3]]);
    const labels = tf.tensor1d([0, 1], 'int32');
    const { loss, correct, counted } = lossAndCorrect({ task: 'classification', numClasses: 3 }, logits, labels);
    // −log softmax: row 1 at class 0, row 2 at class 1.
    const expected = (-Math.log(Math.exp(2) / (Math.exp(2) + 2)) - Math.log(Math.exp(1) / (1 + Math.exp(1) + Math.exp(3)))) / 2;
    assert.ok(Math.abs(loss.dataSync()[0] - expected) < 1e-6, `${loss.dataSync()[0]} vs ${expected}`);
    assert.equal(correct.dataSync()[0], 1);
    assert.equal(counted, 2);
    assert.throws(() => lossAndCorrect({ task: 'classification', numClasses: 3 }, logits, tf.tensor1d([0, 1], 'float32')), (e: unknown) => isJouleError(e, 'JOULE_BAD_DATA'));
    assert.throws(() => lossAndCorrect({ task: 'classification', numClasses: 4 }, logits, labels), (e: unknown) => isJouleError(e, 'JOULE_BAD_DATA'));
  });

  it('lossAndCorrect, masked-lm: only masked positions count', function () {
    // Position 1 is not masked (-1): its wild logits must not move the loss.
    const logits = tf.tensor3d([[[1, 0], [1000, -1000], [0, Math.log(3)]]]);
    const labels = tf.tensor2d([[1, -1, 1]], [1, 3], 'int32');
    const { loss, correct, counted } = lossAndCorrect({ task: 'masked-lm', numClasses: 2 }, logits, labels);
    // Position 0 is wrong (−log 1/(e+1)), position 2 right (−log 3/4).
    const expected = (Math.log(1 + Math.E) - Math.log(3 / 4)) / 2;
    assert.equal(counted, 2);
    assert.ok(Math.abs(loss.dataSync()[0] - expected) < 1e-6, `${loss.dataSync()[0]} vs ${expected}`);
    assert.equal(correct.dataSync()[0], 1);
    const none = lossAndCorrect({ task: 'masked-lm', numClasses: 2 }, logits, tf.fill([1, 3], -1, 'int32'));
    assert.equal(none.counted, 0);
    assert.equal(none.loss.dataSync()[0], 0);
  });

  it('a few training steps reduce the loss: resnet-mini and bert-mini on the cpu backend', function () {
    this.timeout(120_000);
    // 8×8 images: the same layers at a twelfth of the work (the cpu backend's filter gradient is plain JavaScript).
    const resnet = buildModel('resnet-mini', { seed: 3, inputShape: [8, 8, 1] });
    const images = tf.randomUniform([4, 8, 8, 1], 0, 1, 'float32', 11);
    const classes = tf.tensor1d([0, 1, 2, 3], 'int32');
    const resnetLosses = trainSteps(resnet, images, classes, 3, 0.01);
    assert.ok(resnetLosses[2] < resnetLosses[0], `resnet-mini losses ${resnetLosses.join(', ')}`);

    const bert = buildModel('bert-mini', { seed: 3, inputShape: [8], numClasses: 20 });
    const tokens = tf.tensor2d([[3, 4, 2, 6, 7, 8, 2, 10], [11, 2, 13, 14, 15, 16, 17, 2]], [2, 8], 'int32');
    const targets = tf.tensor2d([[-1, -1, 5, -1, -1, -1, 9, -1], [-1, 12, -1, -1, -1, -1, -1, 18]], [2, 8], 'int32');
    const bertLosses = trainSteps(bert, tokens, targets, 4, 0.01);
    assert.ok(bertLosses[3] < bertLosses[0], `bert-mini losses ${bertLosses.join(', ')}`);
  });
});
