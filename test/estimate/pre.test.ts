import assert from 'node:assert/strict';
import { isJouleError } from '../../src/errors';
import { preRowsFromCsv } from '../../src/estimate/pre/dataset';
import type { PreRow } from '../../src/estimate/pre/features';
import { trainPre, trainingSet } from '../../src/estimate/pre/model';
import { fitKrr, fitLinear, rbf } from '../../src/estimate/pre/regressors';
import { random } from './synthetic';

function det3(m: number[][]): number {
  return (
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
  );
}

describe('PRE: kernel ridge regression and the linear baseline', () => {
  it('KRR on 3 points equals solving (K + λI)α = y − ȳ by Cramer\'s rule', () => {
    const x = [[0], [1], [3]];
    const y = [1, 3, 2];
    const lambda = 0.1;
    const gamma = 0.5;
    const a = x.map((xi, i) => x.map((xj, j) => Math.exp(-gamma * (xi[0] - xj[0]) ** 2) + (i === j ? lambda : 0)));
    const mean = 2;
    const b = y.map((v) => v - mean);
    const d = det3(a);
    const alpha = [0, 1, 2].map((c) => det3(a.map((row, r) => row.map((v, k) => (k === c ? b[r] : v)))) / d);
    const expected = (q: number) => mean + alpha.reduce((s, al, i) => s + al * Math.exp(-gamma * (x[i][0] - q) ** 2), 0);
    const model = fitKrr(x, y, { lambda, gamma });
    for (const q of [0, 1, 2, 3, 10]) assert.ok(Math.abs(model.predict([q]) - expected(q)) < 1e-12, `at ${q}: ${model.predict([q])} vs ${expected(q)}`);
    // Far from the data the prediction falls back to the mean.
    assert.ok(Math.abs(model.predict([100]) - mean) < 1e-12);
    assert.equal(rbf([0, 0], [1, 1], 0.5), Math.exp(-1));
  });

  it('the linear baseline recovers an exact linear relation', () => {
    const x = [[0, 1], [1, 0], [2, 3], [4, 1], [3, 3]];
    const y = x.map(([a, b]) => 3 + 2 * a - b);
    const model = fitLinear(x, y);
    assert.ok(Math.abs(model.predict([10, -2]) - (3 + 20 + 2)) < 1e-6);
  });

  function rows(n: number, seed: number): PreRow[] {
    const rnd = random(seed);
    return Array.from({ length: n }, (_, i) => {
      const batchSize = 16 * (1 + Math.floor(rnd() * 16));
      const gpus = 1 + Math.floor(rnd() * 8);
      const flopsPerSample = 1e9 * (1 + rnd() * 4);
      // Power saturates with batch size (GPU utilization), scales with GPUs: not linear.
      const meanPowerW = gpus * (80 + 220 * (1 - Math.exp(-batchSize / 64)) * (0.8 + 0.05 * flopsPerSample / 1e9));
      return { name: `run${i}`, features: { batchSize, gpus, flopsPerSample }, meanPowerW: meanPowerW * (1 + 0.01 * (rnd() - 0.5)), source: 'nvml' };
    });
  }

  it('cross-validated on a nonlinear relation: KRR R² > 0.95 and below the linear baseline\'s RMSE', () => {
    const data = rows(60, 3);
    const krr = trainPre(data, 'meanPowerW', 'krr');
    const linear = trainPre(data, 'meanPowerW', 'linear');
    assert.equal(krr.crossValidation.folds, 5);
    assert.equal(krr.crossValidation.n, 60);
    assert.ok(krr.crossValidation.r2! > 0.95, `KRR R² ${krr.crossValidation.r2}`);
    assert.ok(krr.crossValidation.rmse < linear.crossValidation.rmse, `KRR ${krr.crossValidation.rmse} vs linear ${linear.crossValidation.rmse}`);
    assert.deepEqual(krr.features, ['batchSize', 'flopsPerSample', 'gpus']);
    assert.ok(krr.model.params!.lambda > 0 && krr.model.params!.gamma > 0);
    const query = { batchSize: 128, gpus: 4, flopsPerSample: 2e9 };
    const truth = 4 * (80 + 220 * (1 - Math.exp(-2)) * 0.9);
    assert.ok(Math.abs(krr.model.predict(query) - truth) / truth < 0.05, `${krr.model.predict(query)} vs ${truth}`);
  });

  it('keeps one source (measured over model) and drops features some rows lack or that never vary', () => {
    const data: PreRow[] = [
      ...rows(6, 1),
      { name: 'modelled', features: { batchSize: 32, gpus: 1, flopsPerSample: 1e9 }, meanPowerW: 10, source: 'model' },
    ];
    data[0].features.parameters = 1e6;
    for (const r of data) r.features.gpuTdpW = 400;
    const set = trainingSet(data, 'meanPowerW');
    assert.equal(set.rows.length, 6);
    assert.equal(set.source, 'nvml');
    assert.ok(set.dropped.includes('parameters (missing in some rows)'));
    assert.ok(set.dropped.includes('gpuTdpW (the same in every row)'));
    assert.throws(() => trainPre(rows(4, 1), 'meanPowerW', 'krr'), (e: unknown) => isJouleError(e, 'JOULE_BAD_ARGUMENT') && /at least 5/.test((e as Error).message));
  });

  it('reads the documented CSV of other people\'s runs; a bad cell names its line and column', () => {
    const text = [
      'name,source,batch_size,gpus,gpu_tdp_w,precision,strategy,energy_j,duration_s,epochs',
      'a,nvidia-smi,256,4,400,bf16,dp,3.6e6,3600,10',
      'b,,128,8,700,fp32,pp,,,',
    ].join('\n');
    assert.throws(() => preRowsFromCsv(text, 't.csv'), /line 3: no measurement/);
    const ok = preRowsFromCsv(text.replace('b,,128,8,700,fp32,pp,,,', 'b,,128,8,700,fp32,pp,7.2e6,,12'), 't.csv');
    assert.deepEqual(ok[0].features, { batchSize: 256, inputSize: undefined, flopsPerSample: undefined, parameters: undefined, datasetSize: undefined, gpuCudaCores: undefined, gpuMemoryGB: undefined, gpuTdpW: 400, gpus: 4, precisionBits: 16, pipeline: 0 });
    assert.equal(ok[0].meanPowerW, 1000);
    assert.equal(ok[0].energyPerEpochJ, 3.6e5);
    assert.equal(ok[1].meanPowerW, undefined);
    assert.equal(ok[1].energyPerEpochJ, 6e5);
    assert.equal(ok[1].source, 'imported');
    assert.equal(ok[1].features.pipeline, 1);
    assert.throws(() => preRowsFromCsv('name,watts\na,3\n', 't.csv'), /unknown column\(s\) watts/);
    assert.throws(() => preRowsFromCsv('name,gpus,mean_power_w\na,four,300\n', 't.csv'), /line 2, gpus: "four" is not a number/);
  });
});
