// Splits node-level energy between the node's ranks without double counting, and adds up the run.
import type { EnergyProfile } from './profile';
import type { EnergyFigure, WindowResult } from './types';

/** One rank's whole-run window (and idle baseline, when measured), as its power-run record carries. */
export interface RankPower {
  rank: number;
  localRank: number;
  host: string;
  run: WindowResult;
  idle?: WindowResult;
  /** Samples the rank's sampler dropped because its ring was full (0 when JavaScript kept up). */
  overrunSamples?: number;
  /** The run window never closed (the rank failed): `run` is its last progress record. */
  incomplete?: boolean;
}

/**
 * A node sampler's whole-run window (src/power/node-sampler.ts): every GPU of the job on the node and its
 * RAPL zones, whatever the ranks ran.
 */
export interface NodePower {
  host: string;
  /** The node's first rank (who started the sampler there). */
  rank: number;
  run: WindowResult;
  incomplete?: boolean;
  /** CPU seconds of the node's ranks (the local launcher knows them all), for the CPU model without RAPL. */
  ranksCpuTimeS?: number;
}

/** A rank of the job as run.json knows it, whether or not it measured itself. */
export interface RankPlace {
  rank: number;
  host: string;
  /** Its process's CPU seconds when someone reported them (an srun-side supervisor). */
  cpuTimeS?: number;
}

export interface RankShare {
  rank: number;
  host: string;
  /** Who measured: the rank's own monitor (joule.init()), or the node's sampler for a rank that never joined. */
  measuredBy: 'rank' | 'node';
  durationS: number;
  /** Its CPU seconds; null where nobody could tell (a local rank that never joined: the shares are then equal). */
  cpuTimeS: number | null;
  /** This rank's share of its node's CPU time, which is its share of the node-level energy. */
  cpuShare: number;
  /** Its part of the node-level (RAPL) energy. */
  nodeShareJ: number;
  /** Its GPUs' measured energy (they are its own: no split). */
  gpuJ: number;
  gpus: number;
  /** Measured energy charged to the rank: gpuJ + nodeShareJ. */
  energyJ: number;
  /** Model figures for what nothing measured (CPU when the node has no RAPL, GPUs without NVML). */
  modelEnergyJ: number;
  /** The lowest coverage of the rank's figures over the run (1 = every moment between two readings). */
  coverage: number;
  overrunSamples: number;
}

export interface NodeEnergy {
  host: string;
  /** ranks: the ranks' monitors measured the node (its sampler's figures are left out); node: its sampler did. */
  measuredBy: 'ranks' | 'node';
  /** The rank that read the node-level counters (local rank 0). */
  readerRank: number | null;
  /** Node-level energy by domain (RAPL package and DRAM). */
  domains: Record<string, number>;
  nodeLevelJ: number;
  gpuJ: number;
  /** nodeLevelJ + gpuJ, which the ranks' shares add up to. */
  energyJ: number;
  modelEnergyJ: number;
  ranks: RankShare[];
}

/** The energy totals. As everywhere in joule, energyJ (and kWh, facility and CO2e) means measured only; the model's part is separate. */
export interface EnergyTotals {
  measuredJ: number;
  modelJ: number;
  /** Measured only (= measuredJ), as a node's and a rank's energyJ. */
  energyJ: number;
  kWh: number;
  gpuHours: number;
  pue: number;
  facilityEnergyJ: number;
  facilityKWh: number;
  carbonGPerKWh: number;
  co2eG: number;
  profile: string;
  /** Energy by source over the whole run. */
  sources: Record<string, number>;
  /** The model's estimate for what nothing measured, with its own kWh and CO2e (same PUE and carbon intensity). */
  model: { energyJ: number; kWh: number; facilityEnergyJ: number; co2eG: number };
  /** Ranks whose run never finished (a failure): their figures run to their last progress record. */
  incompleteRanks: number[];
  /**
   * With an idle baseline: the idle power times the run's length, and the rest. The idle power is measured
   * where the run's energy is (then static/dynamic split energyJ), else the model's (then they split model.energyJ).
   */
  idleSource?: 'measured' | 'model';
  idlePowerW?: number;
  staticJ?: number;
  dynamicJ?: number;
}

export interface Attribution {
  nodes: NodeEnergy[];
  ranks: RankShare[];
  totals: EnergyTotals;
}

const isGpuMeasurement = (f: EnergyFigure) => f.kind === 'gpu' && f.source !== 'model';

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/**
 * The run's energy by node and rank. A node where any rank's monitor ran is measured by its ranks (as
 * before: GPUs each rank's own, RAPL read once and split by CPU time); a node where none ran is measured by
 * its node sampler, if one ran there. Never both: the same joules would be counted twice.
 */
export function attribute(ranks: RankPower[], profile: EnergyProfile, nodePower: NodePower[] = [], places: RankPlace[] = []): Attribution {
  const byHost = new Map<string, RankPower[]>();
  for (const rank of [...ranks].sort((a, b) => a.rank - b.rank)) {
    byHost.set(rank.host, [...(byHost.get(rank.host) ?? []), rank]);
  }
  const nodes: NodeEnergy[] = [];
  const sources: Record<string, number> = {};
  let idlePowerW: number | undefined;
  let idleMeasured = true;
  let maxDurationS = 0;
  for (const [host, members] of byHost) {
    const domains: Record<string, number> = {};
    let readerRank: number | null = null;
    let measuresCpu = false;
    for (const member of members) {
      for (const figure of member.run.figures.filter((f) => f.nodeLevel)) {
        domains[figure.device] = (domains[figure.device] ?? 0) + figure.energyJ;
        readerRank = member.rank;
        measuresCpu ||= figure.device.startsWith('package');
      }
    }
    const nodeLevelJ = sum(Object.values(domains));
    const hasNodeLevel = readerRank !== null;
    const totalCpuS = sum(members.map((m) => m.run.cpuTimeS));
    const shares: RankShare[] = members.map((member) => {
      const figures = member.run.figures;
      const cpuShare = totalCpuS > 0 ? member.run.cpuTimeS / totalCpuS : 1 / members.length;
      const gpuJ = sum(figures.filter(isGpuMeasurement).map((f) => f.energyJ));
      // With a RAPL package counter on the node, its share replaces the rank's CPU model.
      const models = figures.filter((f) => f.source === 'model' && !(measuresCpu && f.kind === 'cpu'));
      for (const figure of figures) {
        if (figure.nodeLevel || (figure.source === 'model' && !models.includes(figure))) continue;
        sources[figure.source] = (sources[figure.source] ?? 0) + figure.energyJ;
      }
      const nodeShareJ = nodeLevelJ * cpuShare;
      maxDurationS = Math.max(maxDurationS, member.run.durationS);
      return {
        rank: member.rank,
        host,
        durationS: member.run.durationS,
        cpuTimeS: member.run.cpuTimeS,
        cpuShare,
        nodeShareJ,
        gpuJ,
        measuredBy: 'rank',
        gpus: figures.filter((f) => f.kind === 'gpu').length,
        energyJ: gpuJ + nodeShareJ,
        modelEnergyJ: sum(models.map((f) => f.energyJ)),
        coverage: member.run.coverage,
        overrunSamples: member.overrunSamples ?? 0,
      };
    });
    if (hasNodeLevel) sources.rapl = (sources.rapl ?? 0) + nodeLevelJ;
    const gpuJ = sum(shares.map((s) => s.gpuJ));
    nodes.push({
      host,
      measuredBy: 'ranks',
      readerRank,
      domains,
      nodeLevelJ,
      gpuJ,
      energyJ: nodeLevelJ + gpuJ,
      modelEnergyJ: sum(shares.map((s) => s.modelEnergyJ)),
      ranks: shares,
    });
    const idle = members.filter((m) => m.idle);
    if (idle.length) idlePowerW = (idlePowerW ?? 0) + sum(idle.map((m) => m.idle!.meanPowerW));
    idleMeasured &&= idle.every((m) => m.idle!.energyJ !== null);
  }
  for (const node of [...nodePower].sort((x, y) => x.rank - y.rank)) {
    if (byHost.has(node.host)) continue;
    const shares = nodeSampledShares(node, places.filter((p) => p.host === node.host), profile, sources);
    maxDurationS = Math.max(maxDurationS, node.run.durationS);
    const gpuJ = sum(shares.map((s) => s.gpuJ));
    const nodeLevelJ = sum(shares.map((s) => s.nodeShareJ));
    const domains: Record<string, number> = {};
    for (const figure of node.run.figures.filter((f) => f.nodeLevel)) domains[figure.device] = (domains[figure.device] ?? 0) + figure.energyJ;
    nodes.push({ host: node.host, measuredBy: 'node', readerRank: null, domains, nodeLevelJ, gpuJ, energyJ: nodeLevelJ + gpuJ, modelEnergyJ: sum(shares.map((s) => s.modelEnergyJ)), ranks: shares });
  }
  // In rank order, whoever measured each node.
  nodes.sort((x, y) => Math.min(...x.ranks.map((r) => r.rank)) - Math.min(...y.ranks.map((r) => r.rank)));
  const measuredJ = sum(nodes.map((n) => n.energyJ));
  const modelJ = sum(nodes.map((n) => n.modelEnergyJ));
  const energyJ = measuredJ;
  const kWh = energyJ / 3.6e6;
  const modelKWh = modelJ / 3.6e6;
  const totals: EnergyTotals = {
    measuredJ,
    modelJ,
    energyJ,
    kWh,
    gpuHours: sum(nodes.flatMap((n) => n.ranks.map((r) => (r.gpus * r.durationS) / 3600))),
    pue: profile.pue,
    facilityEnergyJ: energyJ * profile.pue,
    facilityKWh: kWh * profile.pue,
    carbonGPerKWh: profile.carbonGPerKWh,
    co2eG: kWh * profile.pue * profile.carbonGPerKWh,
    profile: profile.name,
    sources,
    model: { energyJ: modelJ, kWh: modelKWh, facilityEnergyJ: modelJ * profile.pue, co2eG: modelKWh * profile.pue * profile.carbonGPerKWh },
    incompleteRanks: ranks.filter((r) => r.incomplete).map((r) => r.rank).sort((a, b) => a - b),
  };
  if (idlePowerW !== undefined) {
    // An idle power from the model splits the model's total, never the measured one.
    const idleSource = idleMeasured && measuredJ > 0 ? 'measured' : 'model';
    totals.idleSource = idleSource;
    totals.idlePowerW = idlePowerW;
    totals.staticJ = idlePowerW * maxDurationS;
    totals.dynamicJ = (idleSource === 'measured' ? energyJ : modelJ) - totals.staticJ;
  }
  return { nodes, ranks: nodes.flatMap((n) => n.ranks).sort((a, b) => a.rank - b.rank), totals };
}

/**
 * A node its sampler measured, split between its ranks: by their CPU seconds when every rank's are known,
 * else in equal parts (a program that never joins says nothing else about its load). Without a RAPL package
 * counter, the ranks' CPU time times the profile's watts per core is the model's CPU figure.
 */
function nodeSampledShares(node: NodePower, members: RankPlace[], profile: EnergyProfile, sources: Record<string, number>): RankShare[] {
  const figures = node.run.figures;
  const ranks = members.length ? members : [{ rank: node.rank, host: node.host }];
  const knownCpu = ranks.every((r) => r.cpuTimeS !== undefined);
  const ranksCpuS = node.ranksCpuTimeS ?? (knownCpu ? sum(ranks.map((r) => r.cpuTimeS!)) : undefined);
  const nodeLevelJ = sum(figures.filter((f) => f.nodeLevel).map((f) => f.energyJ));
  const gpuJ = sum(figures.filter(isGpuMeasurement).map((f) => f.energyJ));
  const measuresCpu = figures.some((f) => f.nodeLevel && f.device.startsWith('package'));
  const gpuModelJ = sum(figures.filter((f) => f.source === 'model' && f.kind === 'gpu').map((f) => f.energyJ));
  const cpuModelJ = measuresCpu || ranksCpuS === undefined ? 0 : ranksCpuS * profile.cpuTdpPerCoreW;
  for (const figure of figures) if (figure.source !== 'model' || figure.kind === 'gpu') sources[figure.source] = (sources[figure.source] ?? 0) + figure.energyJ;
  if (cpuModelJ > 0) sources.model = (sources.model ?? 0) + cpuModelJ;
  const gpus = figures.filter((f) => f.kind === 'gpu').length;
  return ranks.map((place) => {
    const share = knownCpu && ranksCpuS ? place.cpuTimeS! / ranksCpuS : 1 / ranks.length;
    return {
      rank: place.rank,
      host: node.host,
      measuredBy: 'node' as const,
      durationS: node.run.durationS,
      cpuTimeS: place.cpuTimeS ?? null,
      cpuShare: share,
      nodeShareJ: nodeLevelJ * share,
      gpuJ: gpuJ * share,
      gpus: gpus / ranks.length,
      energyJ: (nodeLevelJ + gpuJ) * share,
      modelEnergyJ: (gpuModelJ + cpuModelJ) * share,
      coverage: node.run.coverage,
      overrunSamples: 0,
    };
  });
}
