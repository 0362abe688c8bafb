// The ResNet family (He et al. 2015): basic and bottleneck blocks with batch norm; resnet-mini for CPUs,
// resnet18/resnet50 with torchvision's ImageNet layout.
import * as tf from '@tensorflow/tfjs';
import { SeededInitializers } from './initializers';

type Symbolic = tf.SymbolicTensor;

export interface ResNetLayout {
  /** 'small': one 3×3 conv, no pooling (28×28 inputs); 'imagenet': 7×7/2 conv + 3×3/2 max pool. */
  stem: 'small' | 'imagenet';
  stemChannels: number;
  block: 'basic' | 'bottleneck';
  /** Per stage: blocks, channels (the bottleneck's inner width), and the stride of its first block. */
  stages: Array<{ blocks: number; channels: number; stride: number }>;
}

export const resnetLayouts: Record<'resnet-mini' | 'resnet18' | 'resnet50', ResNetLayout> = {
  'resnet-mini': {
    stem: 'small',
    stemChannels: 16,
    block: 'basic',
    stages: [{ blocks: 1, channels: 16, stride: 1 }, { blocks: 1, channels: 32, stride: 2 }, { blocks: 1, channels: 64, stride: 2 }],
  },
  resnet18: {
    stem: 'imagenet',
    stemChannels: 64,
    block: 'basic',
    stages: [{ blocks: 2, channels: 64, stride: 1 }, { blocks: 2, channels: 128, stride: 2 }, { blocks: 2, channels: 256, stride: 2 }, { blocks: 2, channels: 512, stride: 2 }],
  },
  resnet50: {
    stem: 'imagenet',
    stemChannels: 64,
    block: 'bottleneck',
    stages: [{ blocks: 3, channels: 64, stride: 1 }, { blocks: 4, channels: 128, stride: 2 }, { blocks: 6, channels: 256, stride: 2 }, { blocks: 3, channels: 512, stride: 2 }],
  },
};

const bottleneckExpansion = 4;

/** A ResNet returning logits. Convolutions have no bias (batch norm follows), as in torchvision. */
export function buildResNet(layout: ResNetLayout, inputShape: number[], numClasses: number, seed: number): tf.LayersModel {
  const init = new SeededInitializers(seed);
  // PyTorch's batch norm defaults (momentum 0.1 there is 0.9 here; eps 1e-5), so runs compare with torch's.
  const batchNorm = (x: Symbolic, name: string) => tf.layers.batchNormalization({ name, momentum: 0.9, epsilon: 1e-5 }).apply(x) as Symbolic;
  // 'same' padding: at stride 2 on even sizes TensorFlow pads only bottom/right where PyTorch's padding=1 pads both
  // sides, so a 3×3 conv samples a grid one pixel off torch's; shapes, parameters and FLOPs agree.
  const conv = (x: Symbolic, filters: number, kernelSize: number, strides: number, name: string) =>
    tf.layers.conv2d({ name, filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: init.he() }).apply(x) as Symbolic;
  const relu = (x: Symbolic, name: string) => tf.layers.reLU({ name }).apply(x) as Symbolic;

  const basic = (x: Symbolic, channels: number, stride: number, name: string): Symbolic => {
    let y = relu(batchNorm(conv(x, channels, 3, stride, `${name}_conv1`), `${name}_bn1`), `${name}_relu1`);
    y = batchNorm(conv(y, channels, 3, 1, `${name}_conv2`), `${name}_bn2`);
    return relu(tf.layers.add({ name: `${name}_add` }).apply([y, shortcut(x, channels, stride, name)]) as Symbolic, `${name}_relu2`);
  };
  const bottleneck = (x: Symbolic, channels: number, stride: number, name: string): Symbolic => {
    // ResNet v1.5 (torchvision): the stride sits on the 3×3 conv, not the first 1×1.
    let y = relu(batchNorm(conv(x, channels, 1, 1, `${name}_conv1`), `${name}_bn1`), `${name}_relu1`);
    y = relu(batchNorm(conv(y, channels, 3, stride, `${name}_conv2`), `${name}_bn2`), `${name}_relu2`);
    y = batchNorm(conv(y, channels * bottleneckExpansion, 1, 1, `${name}_conv3`), `${name}_bn3`);
    return relu(tf.layers.add({ name: `${name}_add` }).apply([y, shortcut(x, channels * bottleneckExpansion, stride, name)]) as Symbolic, `${name}_relu3`);
  };
  /** Identity, or a 1×1 conv + batch norm where the shape changes. */
  const shortcut = (x: Symbolic, channels: number, stride: number, name: string): Symbolic => {
    const inChannels = x.shape[x.shape.length - 1];
    if (stride === 1 && inChannels === channels) return x;
    return batchNorm(conv(x, channels, 1, stride, `${name}_shortcut_conv`), `${name}_shortcut_bn`);
  };

  const input = tf.input({ name: 'image', shape: inputShape });
  let x: Symbolic;
  if (layout.stem === 'small') {
    x = relu(batchNorm(conv(input, layout.stemChannels, 3, 1, 'stem_conv'), 'stem_bn'), 'stem_relu');
  } else {
    x = relu(batchNorm(conv(input, layout.stemChannels, 7, 2, 'stem_conv'), 'stem_bn'), 'stem_relu');
    x = tf.layers.maxPooling2d({ name: 'stem_pool', poolSize: 3, strides: 2, padding: 'same' }).apply(x) as Symbolic;
  }
  const block = layout.block === 'basic' ? basic : bottleneck;
  layout.stages.forEach((stage, s) => {
    for (let b = 0; b < stage.blocks; b++) x = block(x, stage.channels, b === 0 ? stage.stride : 1, `stage${s + 1}_block${b + 1}`);
  });
  x = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as Symbolic;
  const logits = tf.layers.dense({ name: 'logits', units: numClasses, kernelInitializer: init.glorot() }).apply(x) as Symbolic;
  return tf.model({ name: 'resnet', inputs: input, outputs: logits });
}
