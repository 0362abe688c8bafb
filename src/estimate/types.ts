// What every estimation method returns: an energy or what it lacks, with its inputs so a reader can redo it.

export type MethodName = 'tdp' | 'green-algorithms' | 'carbontracker' | 'gpu-hours' | 'online-power' | 'step' | 'pre-krr' | 'pre-linear';

export interface MethodEstimate {
  method: MethodName;
  /** Projected energy of the training in J (IT energy unless `notes` says the formula adds PUE); null when it cannot answer. */
  energyJ: number | null;
  /** Projected training time, when the method gives one. */
  durationS?: number | null;
  /** The figures the formula used, by name with units. */
  inputs: Record<string, number | string | boolean | null>;
  /** What it would need to answer (only when energyJ is null). */
  lacks?: string[];
  notes?: string[];
}

export function cannot(method: MethodName, lacks: string[], inputs: MethodEstimate['inputs'] = {}): MethodEstimate {
  return { method, energyJ: null, inputs, lacks };
}

/** Names of inputs that are missing (undefined, null or not finite). */
export function missing(inputs: Record<string, number | null | undefined>): string[] {
  return Object.entries(inputs)
    .filter(([, v]) => v === undefined || v === null || !Number.isFinite(v))
    .map(([k]) => k);
}
