import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadTrace } from '../../src/estimate/import';
import { parseEpochsCsv } from '../../src/estimate/import/epochs-file';
import { parsePowerCsv, parseTimestampS } from '../../src/estimate/import/power-csv';
import { isJouleError } from '../../src/errors';
import { SMI_HEADER, smiRow } from '../helpers/nvidia-smi';
import { epochEnergies, traceEnergy } from '../../src/estimate/trace';


describe('trace import: nvidia-smi and plain CSV', () => {
  it('reads nvidia-smi --format=csv: units in header and values, several GPUs, trapezoid energy', () => {
    const text = [
      SMI_HEADER,
      smiRow(0.123, '00000000:18:00.0', '100.00 W'),
      smiRow(0.123, '00000000:2A:00.0', '200.00 W'),
      smiRow(1.123, '00000000:18:00.0', '120.00 W'),
      smiRow(1.123, '00000000:2A:00.0', '200.00 W'),
      smiRow(3.123, '00000000:18:00.0', '140.00 W'),
      smiRow(3.123, '00000000:2A:00.0', '220.00 W'),
    ].join('\n');
    const trace = parsePowerCsv(text, 'smi.csv');
    assert.equal(trace.format, 'nvidia-smi');
    assert.deepEqual(trace.series.map((s) => s.device), ['00000000:18:00.0', '00000000:2A:00.0']);
    assert.deepEqual(trace.series[0].timesS.map((t) => t - trace.series[0].timesS[0]), [0, 1, 2].map((k) => [0, 1, 3][k]));
    const energy = traceEnergy(trace);
    // GPU 0: 1 s × 110 W + 2 s × 130 W; GPU 1: 1 s × 200 W + 2 s × 210 W.
    assert.ok(Math.abs(energy.bySource['nvidia-smi']! - (110 + 260 + 200 + 420)) < 1e-9);
    assert.equal(trace.issues.length, 0);
  });

  it('[N/A] and [Not Supported] are missing readings; malformed lines are reported with their line numbers, never guessed', () => {
    const text = [
      SMI_HEADER,
      smiRow(0, '00000000:18:00.0', '100.00 W'),
      smiRow(1, '00000000:18:00.0', '[N/A]'),
      smiRow(2, '00000000:18:00.0', '[Not Supported]'),
      smiRow(3, '00000000:18:00.0', '1OO.00 W'),
      '2026/11/30 12:00:04.000, NVIDIA H100 80GB HBM3, 00000000:18:00.0',
      'yesterday, NVIDIA H100 80GB HBM3, 00000000:18:00.0, 100.00 W, 97 %',
      ...[5, 6, 7, 8].map((s) => smiRow(s, '00000000:18:00.0', '100.00 W')),
    ].join('\n');
    const trace = parsePowerCsv(text, 'smi.csv');
    assert.deepEqual(
      trace.issues.map((i) => [i.line, i.kind]),
      [[3, 'missing-value'], [4, 'missing-value'], [5, 'malformed'], [6, 'malformed'], [7, 'malformed']],
    );
    assert.match(trace.issues[2].message, /1OO\.00 W/);
    // Readings every second but none for 5 s: the hole is a gap, reported with its interpolated energy.
    const energy = traceEnergy(trace);
    assert.equal(energy.gaps.length, 1);
    assert.equal(energy.gaps[0].durationS, 5);
    assert.equal(energy.gapEnergyJ, 500);
  });

  it('sorts unsorted readings, keeps one of a repeated identical reading, leaves out conflicting ones', () => {
    const text = [
      SMI_HEADER,
      smiRow(2, '00000000:18:00.0', '120.00 W'),
      smiRow(0, '00000000:18:00.0', '100.00 W'),
      smiRow(1, '00000000:18:00.0', '110.00 W'),
      smiRow(1, '00000000:18:00.0', '110.00 W'),
      smiRow(3, '00000000:18:00.0', '130.00 W'),
      smiRow(3, '00000000:18:00.0', '150.00 W'),
      smiRow(4, '00000000:18:00.0', '140.00 W'),
    ].join('\n');
    const trace = parsePowerCsv(text, 'smi.csv');
    const s = trace.series[0];
    assert.deepEqual(s.powerW, [100, 110, 120, 140]);
    const kinds = trace.issues.map((i) => `${i.line}:${i.kind}`);
    assert.deepEqual(kinds, ['3:unsorted', '5:duplicate', '6:conflict', '7:conflict']);
  });

  it('reads tools\' own headers with units in the values, and the plain time_s,power_w[,device] form', () => {
    const own = parsePowerCsv('time,gpu_index,power\n2026-11-30T12:00:00Z,0,100 W\n2026-11-30T12:00:02Z,0,300 W\n', 'own.csv', { device: 'gpu_index' });
    assert.equal(own.format, 'csv');
    assert.equal(traceEnergy(own).bySource.csv, 400);
    const plain = parsePowerCsv('time_s,power_w,device\n0,50,a\n10,70,a\n0,10,b\n10,10,b\n', 'plain.csv');
    assert.deepEqual(plain.series.map((s) => s.device), ['a', 'b']);
    assert.equal(traceEnergy(plain).bySource.csv, 600 + 100);
    assert.ok(Number.isNaN(parseTimestampS('2026/13/40 25:00:00')));
    assert.equal(parseTimestampS('2026/11/30 12:00:01.500') - parseTimestampS('2026/11/30 12:00:00'), 1.5);
    assert.equal(parseTimestampS('2026-11-30T13:00:00+01:00'), parseTimestampS('2026-11-30T12:00:00Z'));
  });

  it('a file without time or power columns is an error with a code, naming the columns it has', () => {
    assert.throws(() => parsePowerCsv('a,b\n1,2\n', 'x.csv'), (e: unknown) => isJouleError(e, 'JOULE_BAD_ARGUMENT') && /x\.csv:1: the header names no time column \(columns: a, b\)/.test((e as Error).message));
    assert.throws(() => parsePowerCsv('time_s,power_w\n0,[N/A]\n', 'x.csv'), (e: unknown) => isJouleError(e, 'JOULE_BAD_ARGUMENT') && /fewer than two usable readings/.test((e as Error).message));
  });

  it('an epochs file gives epoch boundaries on the trace clock; a bad line is an error, not a merged epoch', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-estimate-'));
    try {
      const trace = path.join(dir, 'gpu.csv');
      fs.writeFileSync(trace, [SMI_HEADER, ...[0, 1, 2, 3, 4].map((s) => smiRow(s, '00000000:18:00.0', `${100 + 10 * s}.00 W`))].join('\n'));
      const epochs = path.join(dir, 'epochs.csv');
      fs.writeFileSync(epochs, 'epoch,end_time\n1,2026/11/30 12:00:02\n2,2026/11/30 12:00:04\n');
      const { trace: t } = loadTrace(trace, { epochsFile: epochs });
      assert.deepEqual(t.epochs.map((e) => e.endS - e.startS), [2, 2]);
      assert.deepEqual(epochEnergies(t).map((e) => e.energyJ), [105 + 115, 125 + 135]);
      assert.throws(() => parseEpochsCsv('epoch,end_time\n1,12\n2,soon\n', 'e.csv', 0), /e\.csv: 1 unreadable epoch line\(s\):\n {2}line 3/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
