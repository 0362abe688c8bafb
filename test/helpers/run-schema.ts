// Holds every run directory a test produces to the run record's schemas (src/report/schema).
import assert from 'node:assert/strict';
import { runDirProblems } from '../../src/report/schema';

/** Fails with every problem found when run.json or any .jsonl record in `dir` breaks its schema. */
export function assertValidRunDir(dir: string): void {
  const problems = runDirProblems(dir);
  assert.deepEqual(problems.slice(0, 20), [], `${dir} breaks the run record's schema:\n${problems.slice(0, 20).join('\n')}`);
}
