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

export interface RankShare {
  rank: number;
  host: string;
  durationS: number;
  cpuTimeS: number;
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

export function attribute(ranks: RankPower[], profile: EnergyProfile): Attribution {
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
  return { nodes, ranks: nodes.flatMap((n) => n.ranks), totals };
}
