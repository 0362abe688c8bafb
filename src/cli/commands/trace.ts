// `joule trace RUN`: a Chrome/Perfetto trace of a run's power counters and windows, per rank.
import fs from 'node:fs';
import path from 'node:path';
import type { CommandSpec } from '../command';
import { JouleError } from '../../errors';
import type { SkippedLine } from '../../power/records';
import { ExitCode } from '../exit-codes';
import { printJson } from '../output';

interface TraceArgs {
  run: string;
  out?: string;
  json: boolean;
}

export const traceCommand: CommandSpec<TraceArgs> = {
  command: 'trace <run>',
  describe: 'Export a run\'s power timeline and windows as Chrome/Perfetto trace JSON',
  operands: {
    run: 'The run directory',
  },
  options: {
    out: { type: 'string', describe: 'Where to write the trace (default RUN/trace.json; --out=- for stdout)' },
    json: { type: 'boolean', default: false, describe: 'Print what was written as JSON' },
  },
  examples: [
    ['$0 trace runs/2026-11-22T05-30-00', 'Write runs/.../trace.json; open it in ui.perfetto.dev or chrome://tracing'],
    ['$0 trace runs/last --out=- > trace.json', 'Write the trace to stdout'],
  ],
  handler: async (args) => {
    // Loaded here, not at the top: every command's module is loaded on every start, `joule launch`'s included.
    const { runPower } = await import('../../power/run-samples');
    const { chromeTrace } = await import('../../power/trace');
    if (!fs.existsSync(args.run) || !fs.statSync(args.run).isDirectory()) {
      throw new JouleError('JOULE_BAD_ARGUMENT', `not a run directory: ${args.run}`);
    }
    // Damage is said line by line and makes the exit code 1; the trace still holds every good record.
    const skipped: (SkippedLine & { file: string })[] = [];
    const power = runPower(args.run, (file, line) => skipped.push({ file, ...line }));
    const { unplacedRanks, ...trace } = chromeTrace(power);
    for (const line of skipped) process.stderr.write(`joule: ${line.file} line ${line.line} skipped: ${line.torn ? 'cut short (the run ended mid-write)' : line.reason}\n`);
    if (unplacedRanks.length) process.stderr.write(`joule: rank(s) ${unplacedRanks.join(', ')} have no power-channels record (their clock): their samples and windows are left out\n`);
    if (skipped.some((line) => !line.torn) || unplacedRanks.length) process.exitCode = ExitCode.failure;
    const text = JSON.stringify(trace);
    if (args.out === '-') {
      process.stdout.write(`${text}\n`);
      return;
    }
    const out = args.out ?? path.join(args.run, 'trace.json');
    try {
      fs.writeFileSync(out, text, { mode: 0o644 });
    } catch (error) {
      throw new JouleError('JOULE_BAD_ARGUMENT', `cannot write the trace to ${out}: ${(error as Error).message}`);
    }
    const counters = trace.traceEvents.filter((e) => e.ph === 'C').length;
    const spans = trace.traceEvents.filter((e) => e.ph === 'X').length;
    if (args.json) printJson({ source: power.files.join(', '), files: power.files, nodes: power.nodes, out, counterEvents: counters, spans, skippedLines: skipped, unplacedRanks });
    else process.stdout.write(`wrote ${out}: ${counters} power counter points, ${spans} window spans (open in ui.perfetto.dev)\n`);
  },
};
