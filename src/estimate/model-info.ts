// Parameters and FLOPs per sample of a named model, from joule's model builders when they are present.
import path from 'node:path';
import { JouleError } from '../errors';

export interface ModelInfo {
  name: string;
  parameters?: number;
  flopsPerSample?: number;
  /** Elements of one input sample (28×28×1 = 784). */
  inputSize?: number;
  /** Where the figures came from: the model builder, or the command line. */
  from: string;
}

interface ModelsModule {
  buildModel(name: string, options: { seed: number }): { parameters: number; flopsPerSample: number; inputShape: number[]; model?: { dispose?(): void } };
}

/** src/train/models when it exists (it is optional here: estimation must work without the trainer). */
function modelsModule(): ModelsModule | undefined {
  try {
    // A computed path: the trainer's models may not exist in this build, and tsc must not require them.
    return require(path.join(__dirname, '..', 'train', 'models')) as ModelsModule;
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'MODULE_NOT_FOUND' && e.message.includes(path.join('train', 'models'))) return undefined;
    throw error;
  }
}

/**
 * The model's size: given figures win (--params, --flops-per-sample); otherwise the model builder's
 * (building the model once, seed 0, to count). A name the builder does not know keeps its error code.
 */
export function modelInfo(name: string | undefined, given: { parameters?: number; flopsPerSample?: number; inputSize?: number }): ModelInfo {
  if (given.parameters !== undefined || given.flopsPerSample !== undefined || !name) {
    return { name: name ?? 'unnamed', ...given, from: 'command line' };
  }
  const models = modelsModule();
  if (!models) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `model "${name}": joule's model builders (src/train/models) are not in this build; give --params and --flops-per-sample`);
  }
  const spec = models.buildModel(name, { seed: 0 });
  spec.model?.dispose?.();
  return {
    name,
    parameters: spec.parameters,
    flopsPerSample: spec.flopsPerSample,
    inputSize: given.inputSize ?? spec.inputShape.reduce((a, b) => a * b, 1),
    from: 'src/train/models',
  };
}
