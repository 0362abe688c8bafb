// What a run was besides its numbers (hardware, software, configuration), read from its run directory for compare, reports and findings.
import { hasRunPower, runPower } from '../power/run-samples';
import type { RunData } from './run-data';

/** What a run was, besides its numbers: hardware, software, configuration. */
export function runContext(run: RunData): Record<string, string> {
  const m = run.manifest;
  const s = run.summary;
  const c = run.trainConfig?.config ?? {};
  const gpus = (m.ranks ?? []).some((r: { gpus?: number[] }) => (r?.gpus ?? []).length > 0);
  const nvml = nvmlFacts(run.dir);
  const context: Record<string, unknown> = {
    profile: m.profile?.name,
    'GPU model': nvml.gpuNames ?? (gpus ? m.profile?.node?.gpuModel ?? 'unknown' : 'none (CPU ranks)'),
    driver: nvml.driver ?? (gpus ? 'unknown' : 'n/a'),
    NCCL: ncclOf(s?.comm) ?? m.versions?.nccl ?? m.environment?.NCCL_VERSION ?? 'not used',
    'collective backend': s?.comm ? s.comm.backend ?? 'none (one rank)' : undefined,
    joule: m.versions?.joule,
    node: m.versions?.node,
    commit: m.git?.joule,
    'workload commit': m.git?.cwd,
    hosts: Array.isArray(m.hosts) ? String(m.hosts.length) : undefined,
    // The ranks' own monitors (joule.init()) or the node sampler (any other command): one per node, never both.
    'energy measured by': measuredBy(m.energy?.nodes),
    ranks: m.size,
    launcher: m.launcher?.mode,
    'tfjs backend': s?.backend?.backend ?? run.trainConfig?.backend?.backend,
    model: s?.model?.name ?? c.model,
    dataset: s?.dataset?.name ?? c.dataset,
    precision: s?.precision?.choice ?? c.precision,
    // Data parallel unless the trainer recorded a pipeline; only for runs of joule train.
    strategy: run.trainConfig || s ? c.parallel?.strategy ?? s?.pipeline?.strategy ?? 'dp' : undefined,
    lbs: s?.lbs ?? c.lbs,
    gbs: s?.gbs ?? c.gbs,
    seed: c.seed,
    optimizer: c.optimizer,
    epochs: s?.epochs ?? c.epochs,
    command: s ? undefined : Array.isArray(m.command) ? m.command.join(' ') : undefined,
  };
  return Object.fromEntries(Object.entries(context).filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [k, String(v)]));
}

/** The NCCL version a training run found (ncclGetVersion), and whether its collectives went through it. */
function ncclOf(comm: { backend?: string | null; ncclVersion?: string | null } | undefined): string | undefined {
  if (!comm) return undefined;
  if (!comm.ncclVersion) return 'not found';
  return comm.backend === 'nccl' ? comm.ncclVersion : `${comm.ncclVersion} (found; collectives on ${comm.backend ?? 'none'})`;
}

/** GPU names and driver as NVML reported them to whoever sampled the run's GPUs (its ranks, or the node sampler). */
function nvmlFacts(dir: string): { gpuNames?: string; driver?: string } {
  if (!hasRunPower(dir)) return {};
  const names = new Set<string>();
  let driver: string | undefined;
  for (const record of runPower(dir).records) {
    if (record.type !== 'power-channels') continue;
    const nvml = record.nvml as { driverVersion?: string } | undefined;
    driver ??= nvml?.driverVersion;
    for (const channel of (record.channels as { kind?: string; name?: string }[] | undefined) ?? []) if (channel.kind === 'gpu' && channel.name) names.add(channel.name);
  }
  return { gpuNames: names.size ? [...names].join(' + ') : undefined, driver };
}

/** Who measured the run's nodes, as run.json's energy says: ranks, node sampler, or both on different nodes. */
function measuredBy(nodes: { measuredBy?: string }[] | undefined): string | undefined {
  const who = [...new Set((nodes ?? []).map((n) => (n.measuredBy === 'node' ? 'node sampler' : n.measuredBy)).filter(Boolean))];
  return who.length ? who.join(' + ') : undefined;
}
