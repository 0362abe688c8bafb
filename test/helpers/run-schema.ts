// Holds every run directory a test produces to the run record's schemas (src/report/schema).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runDirProblems } from '../../src/report/schema';

/** Fails with every problem found when run.json or any .jsonl record in `dir` breaks its schema. */
export function assertValidRunDir(dir: string): void {
  const problems = runDirProblems(dir);
  assert.deepEqual(problems.slice(0, 20), [], `${dir} breaks the run record's schema:\n${problems.slice(0, 20).join('\n')}`);
}

/**
 * Holds every run directory at or under `root` (one run, or a sweep's runs) to the schemas; a root with
 * none is fine (a command refused before it made a run). Test helpers that start runs call it on each.
 */
export function assertValidRunDirsUnder(root: string, depth = 3): void {
  if (fs.existsSync(path.join(root, 'run.json'))) assertValidRunDir(root);
  if (depth === 0 || !fs.existsSync(root) || !fs.statSync(root).isDirectory()) return;
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) if (entry.isDirectory()) assertValidRunDirsUnder(path.join(root, entry.name), depth - 1);
}
