// Chooses the tfjs backend a run computes on: tfjs-node-gpu → tfjs-node → wasm → cpu, or the one asked for.
import * as tf from '@tensorflow/tfjs';
import { JouleError } from '../../errors';
import { registerBroadcastGradients } from './gradients';
import { registerWasmTrainingKernels } from './wasm-kernels';

export type TfBackendName = 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu';
export const tfBackendNames: readonly TfBackendName[] = ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'];

export interface TfRuntime {
  backend: TfBackendName;
  /** Why this backend, for the run record: what was asked for and what was found. */
  reason: string;
  /** Kernels (and gradients, "X gradient") joule registered. */
  registered: string[];
}

export interface SelectOptions {
  /** Where to look for the optional tfjs-node packages (require.resolve's `paths`); tests pin it. */
  moduleSearchPaths?: string[];
}

/** The optional peers: their install downloads libtensorflow (FACTS.md), so joule never installs them. */
const nodePackages = {
  'tfjs-node-gpu': {
    module: '@tensorflow/tfjs-node-gpu',
    install: 'npm install @tensorflow/tfjs-node-gpu@^4.22.0 (downloads libtensorflow 2.9.1 built for CUDA 11.2 and cuDNN 8.1)',
  },
  'tfjs-node': {
    module: '@tensorflow/tfjs-node',
    install: 'npm install @tensorflow/tfjs-node@^4.22.0 (downloads libtensorflow 2.9.1 for the CPU)',
  },
} as const;

type Attempt = { ok: true; reason: string; registered: string[] } | { ok: false; why: string };

async function tryNode(name: 'tfjs-node-gpu' | 'tfjs-node', options: SelectOptions): Promise<Attempt> {
  const { module } = nodePackages[name];
  let resolved: string;
  try {
    resolved = require.resolve(module, options.moduleSearchPaths ? { paths: options.moduleSearchPaths } : undefined);
  } catch {
    return { ok: false, why: `${module} is not installed` };
  }
  try {
    require(resolved);  // registers the 'tensorflow' backend on tfjs's global engine
    if (!(await tf.setBackend('tensorflow'))) return { ok: false, why: `${module} is installed but its backend did not start` };
  } catch (error) {
    return { ok: false, why: `${module} is installed but did not load: ${(error as Error).message}` };
  }
  return { ok: true, reason: `${module} (${resolved})`, registered: [] };
}

async function tryWasm(): Promise<Attempt> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) return { ok: false, why: 'the wasm backend did not start' };
  } catch (error) {
    return { ok: false, why: `the wasm backend did not load: ${(error as Error).message}` };
  }
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) ? 'SIMD' : 'no SIMD';
  const registered = [...registerWasmTrainingKernels(), ...registerBroadcastGradients()];
  return { ok: true, reason: `wasm (${simd}, one thread) with joule's native training kernels`, registered };
}

async function tryCpu(): Promise<Attempt> {
  if (!(await tf.setBackend('cpu'))) return { ok: false, why: 'the cpu backend did not start' };
  return { ok: true, reason: 'cpu (plain JavaScript, slowest)', registered: [] };
}

function attempt(name: TfBackendName, options: SelectOptions): Promise<Attempt> {
  if (name === 'tfjs-node-gpu' || name === 'tfjs-node') return tryNode(name, options);
  return name === 'wasm' ? tryWasm() : tryCpu();
}

/**
 * 'auto' takes the first that works of tfjs-node-gpu → tfjs-node → wasm → cpu; a forced backend that is
 * missing fails with JOULE_TF_BACKEND_UNAVAILABLE, saying how to install it.
 */
export async function selectTfBackend(requested: TfBackendName | 'auto', options: SelectOptions = {}): Promise<TfRuntime> {
  if (requested !== 'auto' && !tfBackendNames.includes(requested)) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `unknown tfjs backend "${String(requested)}"; known: auto, ${tfBackendNames.join(', ')}`);
  }
  if (requested !== 'auto') {
    const result = await attempt(requested, options);
    if (result.ok) return { backend: requested, reason: `asked for: ${result.reason}`, registered: result.registered };
    const install = requested === 'tfjs-node-gpu' || requested === 'tfjs-node' ? `; install it with \`${nodePackages[requested].install}\`` : '';
    throw new JouleError('JOULE_TF_BACKEND_UNAVAILABLE', `tfjs backend ${requested} is unavailable: ${result.why}${install}`, {
      backend: requested, libraryError: result.why,
    });
  }
  const passed: string[] = [];
  for (const name of tfBackendNames) {
    const result = await attempt(name, options);
    if (result.ok) {
      const before = passed.length > 0 ? `${passed.join('; ')}; ` : '';
      return { backend: name, reason: `auto: ${before}${result.reason}`, registered: result.registered };
    }
    passed.push(result.why);
  }
  throw new JouleError('JOULE_TF_BACKEND_UNAVAILABLE', `no tfjs backend could start: ${passed.join('; ')}`);
}
