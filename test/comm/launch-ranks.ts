// Runs a fixture script as N ranks through the real launcher (launch/launcher.ts) and joule.init(), and
// hands back each rank's output, its exit code (from run.json) and the JSON report it printed last.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, launchDefaults, type LaunchResult } from '../../launch/launcher';
import { loadProfile } from '../../src/slurm/profile';
import { assertValidRunDir } from '../helpers/run-schema';

export interface RankResult {
  rank: number;
  code: number | null;
  stdout: string;
  stderr: string;
  /** The JSON the fixture printed as its last stdout line, if any. */
  report?: unknown;
}

export interface LaunchRanksOptions {
  /** Ranks get node ids as if on this many nodes (the launcher's --pretend-nodes). */
  pretendNodes?: number;
}

/** Output lines `[rank] text` split back into per-rank text. */
function byRank(size: number): { texts: string[]; write(text: string): void } {
  const texts = Array<string>(size).fill('');
  return {
    texts,
    write(text) {
      for (const line of text.split('\n')) {
        const match = /^\[(\d+)\] (.*)$/s.exec(line);
        if (match && Number(match[1]) < size) texts[Number(match[1])] += `${match[2]}\n`;
      }
    },
  };
}

export async function launchRanks(script: string, size: number, env: Record<string, string> = {}, options: LaunchRanksOptions = {}): Promise<RankResult[] & { launch: LaunchResult }> {
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-comm-test-'));
  const local = loadProfile('local');
  const stdout = byRank(size);
  const stderr = byRank(size);
  try {
    const result = await launch({
      command: [process.execPath, '--require', require.resolve('tsx/cjs'), script],
      size,
      runDir,
      // The collectives are under test, not the power monitor: no sampler thread in the ranks.
      profile: { ...local, env: { ...local.env, JOULE_POWER: 'off', ...env } },
      launcher: 'local',
      secure: false,
      ...launchDefaults,
      pretendNodes: options.pretendNodes,
      out: stdout.write,
      err: stderr.write,
    });
    assertValidRunDir(runDir);
    const manifest = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')) as { ranks: { exitCode?: number | null }[] };
    const results = Array.from({ length: size }, (_, rank): RankResult => {
      const last = stdout.texts[rank].trim().split('\n').pop() ?? '';
      let report: unknown;
      try {
        report = JSON.parse(last);
      } catch {
        report = undefined;
      }
      return { rank, code: manifest.ranks[rank]?.exitCode ?? null, stdout: stdout.texts[rank], stderr: stderr.texts[rank], report };
    });
    return Object.assign(results, { launch: result });
  } finally {
    fs.rmSync(runDir, { recursive: true, force: true });
  }
}
