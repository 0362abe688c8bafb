// Hosts a job's coordinator and its run journal: `joule launch` does, and so does rank 0 under bare srun
// (or a script run alone); one implementation, so both write run.json with one `config` shape.
import path from 'node:path';
import { Coordinator, type CoordinatorSink } from '../coord/server';
import { fillGit, newManifest, RunJournal } from '../report/journal';
import { RunRecorder } from '../report/run-record';

/** run.json's `config`: how the job was coordinated, the same fields whoever hosted it. */
export interface RunConfig {
  size: number;
  secure: boolean;
  iface: string | null;
  heartbeatS: number;
  heartbeatMisses: number;
  /** 0: wait for every rank's join as long as it takes. */
  joinTimeoutS: number;
  /** Seconds the launcher gives ranks after an abort before SIGTERM; null when no launcher supervises them (bare srun). */
  abortGraceS: number | null;
  /** Pretend nodes the local launcher placed ranks on (1: the real placement). */
  pretendNodes: number;
}

export interface RunHostOptions {
  runId: string;
  /** The run directory; '' keeps no record (a bare-srun or singleton run without JOULE_RUN_DIR). */
  runDir: string;
  name: string;
  command: string[];
  profile: Record<string, unknown> | null;
  config: RunConfig;
  /** run.json's `launcher`: how ranks were started, by whom, where. */
  launcher: Record<string, unknown>;
  secret: string;
  bindHost: string;
  /** 0: any free port. */
  port: number;
  /** Gives up a hold on `port` just before the coordinator binds it (the launcher reserves it to start ranks first). */
  releasePort?: () => void;
  /** Rank log lines and coordinator warnings for the operator. */
  print(line: string, stream: 'stdout' | 'stderr'): void;
}

export interface RunHost {
  coordinator: Coordinator;
  /** Absent when the run keeps no record (runDir ''). */
  journal?: RunJournal;
  port: number;
  /**
   * Records the address ranks dial in run.json (the launcher knows a better one than the bound address).
   * Not awaited: the write goes on while the ranks start, and later writes queue behind it.
   */
  announce(coordinatorAddress: string): void;
}

/** Starts the coordinator (listening once this resolves) and, with a run directory, the journal it feeds. */
export async function hostRun(options: RunHostOptions): Promise<RunHost> {
  const { config, print } = options;
  const runDir = options.runDir ? path.resolve(options.runDir) : '';
  let journal: RunJournal | undefined;
  if (runDir) {
    journal = new RunJournal({
      recorder: await RunRecorder.create(runDir),
      manifest: newManifest({
        runId: options.runId,
        name: options.name,
        command: options.command,
        profile: options.profile,
        config: { ...config },
        launcher: options.launcher,
        size: config.size,
      }),
      print,
    });
    fillGit(journal.manifest);
  }
  // Without a record, rank logs still reach the operator.
  const sink: CoordinatorSink = journal ?? {
    event: () => undefined,
    records: (rank, items) => {
      for (const item of items) if (item.k === 'log') print(`[${rank}] ${item.message}`, 'stdout');
    },
    warn: (message) => print(`joule: ${message}`, 'stderr'),
  };
  const coordinator = new Coordinator({
    secret: options.secret,
    size: config.size,
    bindHost: options.bindHost,
    port: options.port,
    releasePort: options.releasePort,
    runId: options.runId,
    runDir,
    heartbeatMs: Math.round(config.heartbeatS * 1000),
    heartbeatMisses: config.heartbeatMisses,
    joinTimeoutMs: Math.round(config.joinTimeoutS * 1000),
    secure: config.secure,
    sink,
  });
  const endpoint = await coordinator.start();
  if (journal) journal.droppedFrames = () => coordinator.droppedFrameCount;
  return {
    coordinator,
    journal,
    port: Number(/:(\d+)$/.exec(endpoint)?.[1]),
    announce: (coordinatorAddress) => {
      if (!journal) return;
      journal.manifest.launcher.coordinator = coordinatorAddress;
      journal.save().catch((error) => journal.warn(`cannot write run.json: ${(error as Error).message}`));
    },
  };
}
