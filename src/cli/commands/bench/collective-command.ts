// The flags, rank setup and output shared by the collective benchmarks (nccl-tests' flags and columns).
import type { CommandSpec } from '../../command';
import { runCollectiveBench, type BenchRow, type CollectiveName } from '../../../../bench/collectives';
import type { BackendName, DType, ReduceOp, WirePrecision } from '../../../comm/types';
import { dtypeBytes } from '../../../comm/native-types';
import { JouleError } from '../../../errors';
import { ExitCode } from '../../exit-codes';
import { printJson } from '../../output';
import { benchRanks } from './ranks';
import { parseBytes } from './sizes';

export interface CollectiveBenchArgs {
  minbytes: string;
  maxbytes: string;
  stepfactor: number;
  stepbytes: string;
  iters: number;
  warmup_iters: number;
  check: number;
  dtype: string;
  op: string;
  root: number;
  backend: string;
  nranks: number;
  'pretend-nodes'?: number;
  oversubscribe: boolean;
  loop: string;
  wire: string;
  json: boolean;
}

const dtypeNames: Record<string, DType> = {
  f32: 'f32', float: 'f32', float32: 'f32',
  f64: 'f64', double: 'f64', float64: 'f64',
  i32: 'i32', int32: 'i32', int: 'i32',
  i64: 'i64', int64: 'i64',
  bf16: 'bf16', bfloat16: 'bf16',
  f16: 'f16', half: 'f16', float16: 'f16',
};
const ops: ReduceOp[] = ['sum', 'prod', 'max', 'min', 'avg'];
const backends: BackendName[] = ['auto', 'shm', 'tcp', 'nccl'];

const pad = (text: string, width: number) => text.padStart(width);
const center = (text: string, width: number) => text.padStart(Math.floor((width + text.length) / 2)).padEnd(width);
const num = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');

function header(): string {
  return [
    `#${' '.repeat(46)}${center('out-of-place', 34)}${center('in-place', 34)}${center('energy', 34)}`,
    `#${pad('size', 12)}${pad('count', 14)}${pad('type', 7)}${pad('redop', 7)}${pad('root', 6)}${pad('time', 11)}${pad('algbw', 8)}${pad('busbw', 8)}${pad('#wrong', 7)}${pad('time', 11)}${pad('algbw', 8)}${pad('busbw', 8)}${pad('#wrong', 7)}${pad('J/op', 11)}${pad('GB/J', 9)}  source`,
    `#${pad('(B)', 12)}${pad('(elements)', 14)}${pad('', 20)}${pad('(us)', 11)}${pad('(GB/s)', 8)}${pad('(GB/s)', 8)}${pad('', 7)}${pad('(us)', 11)}${pad('(GB/s)', 8)}${pad('(GB/s)', 8)}${pad('', 7)}`,
  ]
    .map((l) => l.trimEnd())
    .join('\n');
}

function line(row: BenchRow): string {
  const mode = (m: BenchRow['inPlace']) => `${pad(num(m.timeUs, 2), 11)}${pad(num(m.algbwGBs, 2), 8)}${pad(num(m.busbwGBs, 2), 8)}${pad(String(m.wrong), 7)}`;
  // A model figure is shown only where nothing was measured, and says so in the source column.
  const joules = row.energyPerOpJ ?? row.modelEnergyPerOpJ;
  const source = row.energyPerOpJ !== null ? row.energySource.split(' ')[0] : row.modelEnergyPerOpJ !== null ? 'model' : 'n/a';
  const gbPerJ = joules && joules > 0 ? row.bytes / 1e9 / joules : null;
  const energy = joules === null ? `${pad('n/a', 11)}${pad('n/a', 9)}  ${source}` : `${pad(joules.toExponential(3), 11)}${pad(gbPerJ === null ? 'n/a' : num(gbPerJ, 3), 9)}  ${source}`;
  return ` ${pad(String(row.bytes), 12)}${pad(String(row.count), 14)}${pad(row.dtype, 7)}${pad(row.op, 7)}${pad(String(row.root), 6)}${mode(row.outOfPlace)}${mode(row.inPlace)}${energy}`;
}

export function collectiveBenchCommand(collective: CollectiveName): CommandSpec<CollectiveBenchArgs> {
  return {
    command: collective,
    describe: `Time ${collective} over a range of sizes (nccl-tests columns, plus energy per operation)`,
    options: {
      minbytes: { alias: 'b', type: 'string', default: '32M', describe: 'Smallest size (K/M/G suffixes)' },
      maxbytes: { alias: 'e', type: 'string', default: '32M', describe: 'Largest size' },
      stepfactor: { alias: 'f', type: 'number', default: 0, describe: 'Multiply the size by this each step' },
      stepbytes: { alias: 'i', type: 'string', default: '1M', describe: 'Add this to the size each step (when -f is not given)' },
      iters: { alias: 'n', type: 'number', default: 20, describe: 'Timed iterations per size' },
      warmup_iters: { alias: 'w', type: 'number', default: 5, describe: 'Untimed iterations per size' },
      check: { alias: 'c', type: 'number', default: 1, describe: 'Check results (1) or not (0)' },
      dtype: { alias: 'd', type: 'string', default: 'float', describe: 'float|half|bfloat16|double|int32|int64 (or f32, f16, bf16, f64, i32, i64)' },
      op: { alias: 'o', type: 'string', default: 'sum', describe: 'sum|prod|max|min|avg' },
      root: { alias: 'r', type: 'number', default: 0, describe: 'Root rank (broadcast)' },
      backend: { type: 'string', default: 'auto', describe: 'auto|shm|tcp|nccl' },
      nranks: { alias: 'N', type: 'number', default: 0, describe: 'Start this many local ranks (outside `joule launch` and srun)' },
      'pretend-nodes': { type: 'number', describe: 'With -N: give the ranks node ids as if they sat on this many nodes (hierarchical collectives on one host)' },
      oversubscribe: { type: 'boolean', default: false, describe: 'With -N: start more than 4 ranks per allowed CPU (refused otherwise)' },
      wire: { type: 'string', default: 'native', describe: 'allreduce with float: native|bf16|f16 (the dtype bytes travel in)' },
      loop: { type: 'string', default: 'native', describe: 'native: iterations back to back in native code; promise: one awaited call each' },
      json: { type: 'boolean', default: false, describe: 'Print every row as JSON' },
    },
    examples: [
      [`$0 bench ${collective} -N 2 -b 8 -e 128M -f 2`, 'Sweep 8 B to 128 MiB on 2 local ranks'],
      [`joule launch -n 4 -- joule bench ${collective} -b 1M -e 1G -f 4 --json`, 'Inside a launched job, JSON rows'],
      [`srun -N 2 -n 8 joule bench ${collective} -b 8 -e 1G -f 2`, "Under bare srun (JOULE_JOB_SECRET exported): srun's tasks are the ranks"],
    ],
    handler: async (args) => {
      const dtype = dtypeNames[String(args.dtype).toLowerCase()];
      if (!dtype) throw new JouleError('JOULE_BAD_ARGUMENT', `--dtype: unknown type "${args.dtype}"`);
      if (!ops.includes(args.op as ReduceOp)) throw new JouleError('JOULE_BAD_ARGUMENT', `--op: must be one of ${ops.join(', ')}`);
      if (!backends.includes(args.backend as BackendName)) throw new JouleError('JOULE_BAD_ARGUMENT', `--backend: must be one of ${backends.join(', ')}`);
      if (!['native', 'bf16', 'f16'].includes(args.wire)) throw new JouleError('JOULE_BAD_ARGUMENT', '--wire: native, bf16 or f16');
      if (args.wire !== 'native' && (collective !== 'allreduce' || dtype !== 'f32')) throw new JouleError('JOULE_BAD_ARGUMENT', '--wire applies to allreduce of float (f32) only');
      if (args.loop !== 'native' && args.loop !== 'promise') throw new JouleError('JOULE_BAD_ARGUMENT', '--loop: native or promise');
      for (const [flag, value] of [['-n', args.iters], ['-w', args.warmup_iters], ['-N', args.nranks]] as const) {
        if (!Number.isInteger(value) || value < (flag === '-n' ? 1 : 0)) throw new JouleError('JOULE_BAD_ARGUMENT', `${flag}: expected a ${flag === '-n' ? 'positive' : 'non-negative'} integer, got ${value}`);
      }
      const minBytes = parseBytes(args.minbytes, '-b');
      const maxBytes = parseBytes(args.maxbytes, '-e');
      if (maxBytes < minBytes) throw new JouleError('JOULE_BAD_ARGUMENT', '-e must be at least -b');
      // Below one element a size would silently become 0 bytes.
      if (minBytes < dtypeBytes[dtype]) throw new JouleError('JOULE_BAD_ARGUMENT', `-b ${args.minbytes}: smaller than one ${dtype} element (${dtypeBytes[dtype]} bytes)`);
      const options = {
        collective,
        minBytes,
        maxBytes,
        stepFactor: args.stepfactor,
        stepBytes: parseBytes(args.stepbytes, '-i'),
        iterations: args.iters,
        warmup: args.warmup_iters,
        check: args.check !== 0,
        dtype,
        op: args.op as ReduceOp,
        root: args.root,
        loop: args.loop as 'native' | 'promise',
        wire: args.wire as WirePrecision,
      };
      const code = await benchRanks({ nranks: args.nranks, pretendNodes: args['pretend-nodes'], oversubscribe: args.oversubscribe, backend: args.backend as BackendName }, async (ctx) => {
        if (collective === 'sendrecv' && ctx.comm.size < 2) throw new JouleError('JOULE_BAD_ARGUMENT', 'sendrecv needs at least 2 ranks');
        if (!Number.isInteger(options.root) || options.root < 0 || options.root >= ctx.comm.size) throw new JouleError('JOULE_BAD_ARGUMENT', `--root: must be a rank below ${ctx.comm.size}`);
        const print = ctx.comm.rank === 0;
        await ctx.comm.connected();
        // The native loop runs on the communicator's own (flat tcp) backend; the hierarchy's levels are
        // composed in JavaScript, so timing them needs one awaited call per iteration.
        const loop = ctx.comm.backend === 'hierarchical' && (collective === 'allreduce' || collective === 'broadcast') ? 'promise' : options.loop;
        if (loop !== options.loop && print) process.stderr.write(`joule bench ${collective}: the hierarchical backend is timed with the promise loop (--loop native would time the flat tcp mesh)\n`);
        options.loop = loop;
        if (print && !args.json) {
          process.stdout.write(`# joule bench ${collective}: ${ctx.comm.size} ranks, backend ${ctx.comm.backend ?? args.backend}, ${options.loop} loop, ${options.iterations} iterations, ${options.warmup} warm-up\n${header()}\n`);
        }
        const rows = await runCollectiveBench(ctx, options, (row) => {
          if (print && !args.json) process.stdout.write(`${line(row)}\n`);
        });
        const wrong = rows.reduce((sum, r) => sum + r.outOfPlace.wrong + r.inPlace.wrong, 0);
        if (print) {
          const avgBusbw = rows.reduce((sum, r) => sum + r.inPlace.busbwGBs + r.outOfPlace.busbwGBs, 0) / (2 * Math.max(1, rows.length));
          if (args.json) printJson({ benchmark: collective, ranks: ctx.comm.size, backend: ctx.comm.backend, loop: options.loop, iterations: options.iterations, warmup: options.warmup, rows, avgBusbwGBs: avgBusbw, wrong });
          else process.stdout.write(`# Out of bounds values : ${wrong} ${wrong ? 'FAILED' : 'OK'}\n# Avg bus bandwidth    : ${avgBusbw.toFixed(4)}\n`);
        }
        return wrong > 0 ? ExitCode.wrongResults : ExitCode.ok;
      });
      process.exitCode = code;
    },
  };
}
