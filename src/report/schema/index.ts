// The run record's JSON schemas (run.json, events.jsonl, every other <stream>.jsonl) and a check of a
// whole run directory against them; `joule` writes what these say, and the tests hold it to that.
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import eventSchema from './event.schema.json';
import recordSchema from './record.schema.json';
import runSchema from './run.schema.json';

let compiled: { run: ValidateFunction; event: ValidateFunction; record: ValidateFunction } | undefined;

function validators() {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
    compiled = { run: ajv.compile(runSchema), event: ajv.compile(eventSchema), record: ajv.compile(recordSchema) };
  }
  return compiled;
}

const describe = (where: string, errors: ErrorObject[] | null | undefined) =>
  (errors ?? []).map((e) => `${where}${e.instancePath || ''}: ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);

/** What is wrong with a run.json value (empty when it is valid). */
export function runJsonProblems(manifest: unknown): string[] {
  const check = validators().run;
  return check(manifest) ? [] : describe('run.json', check.errors);
}

/** What is wrong with one line of `<file>` (events.jsonl, or any stream): empty when it is valid. */
export function recordProblems(file: string, record: unknown, line: number): string[] {
  const check = path.basename(file) === 'events.jsonl' ? validators().event : validators().record;
  return check(record) ? [] : describe(`${path.basename(file)}:${line}`, check.errors);
}

/**
 * Every problem in a run directory: run.json and each complete line of each .jsonl file. A last line cut
 * short (a crash mid-append) is not a problem; a torn line anywhere else is.
 */
export function runDirProblems(dir: string): string[] {
  const problems: string[] = [];
  const manifestFile = path.join(dir, 'run.json');
  if (!fs.existsSync(manifestFile)) return [`${dir}: no run.json`];
  problems.push(...runJsonProblems(JSON.parse(fs.readFileSync(manifestFile, 'utf8'))));
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.jsonl')).sort()) {
    const file = path.join(dir, name);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.forEach((text, i) => {
      if (!text.trim()) return;
      let record: unknown;
      try {
        record = JSON.parse(text);
      } catch {
        if (i !== lines.length - 1) problems.push(`${name}:${i + 1}: not JSON`);
        return;
      }
      problems.push(...recordProblems(file, record, i + 1));
    });
  }
  return problems;
}
