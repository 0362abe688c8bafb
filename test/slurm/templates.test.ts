// The train, bench and sweep job templates: rendered by joule sbatch, commented line by line, valid bash, and (train, bench) run to a complete run directory on the private two-node cluster.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { templatesDir } from '../../src/slurm/template';
import { joule, run } from '../helpers/run';
import { useSlurmCluster } from '../helpers/slurm-cluster';
import { assertValidRunDir } from '../helpers/run-schema';

const templates = ['train', 'bench', 'sweep'];

/** The run directories under `<dir>/runs` whose name ends with `-<name>`. */
function runDirs(dir: string, name: string): string[] {
  const runs = path.join(dir, 'runs');
  return fs.existsSync(runs) ? fs.readdirSync(runs).filter((entry) => entry.endsWith(`-${name}`)).map((entry) => path.join(runs, entry)) : [];
}

describe('job templates (train, bench, sweep)', () => {
  let dir = '';
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-templates-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('say what every block is for: each block of lines starts with a comment', () => {
    for (const name of templates) {
      const text = fs.readFileSync(path.join(templatesDir, `${name}.sbatch`), 'utf8');
      const blocks = text.split(/\n\s*\n/).map((block) => block.trim()).filter(Boolean);
      assert.ok(blocks.length >= 8, `${name}: ${blocks.length} blocks`);
      for (const block of blocks) assert.match(block, /^#/, `${name}: a block without a comment:\n${block}`);
      assert.match(text, /od -An -N32 -tx1 \/dev\/urandom/, `${name} makes the secret inside the job`);
    }
  });

  it('render as valid bash: train runs joule train as the launcher, bench runs joule bench under joule launch, sweep needs an array', async () => {
    const expected: Record<string, RegExp> = {
      train: /^exec "\$JOULE_NODE" \S+joule\.js train --profile a100 --name t1 --model mlp --lbs 64$/m,
      bench: /^exec "\$JOULE_NODE" \S+joule\.js launch --profile a100 --name t1 -- "\$JOULE_NODE" \S+joule\.js bench --model mlp --lbs 64$/m,
      sweep: /^exec "\$JOULE_NODE" \S+joule\.js sweep --resume --model mlp --lbs 64 --array-task "\$\{SLURM_ARRAY_TASK_ID:\?/m,
    };
    for (const name of templates) {
      const result = await joule(['sbatch', '--dry-run', '--template', name, '--profile', 'a100', '-J', 't1', '--', '--model', 'mlp', '--lbs', '64']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, expected[name], name);
      // The a100 profile asks for GPUs the gres way, with its modules and NCCL variables.
      assert.match(result.stdout, /^#SBATCH --gres=gpu:4$/m);
      assert.match(result.stdout, /^module load CUDA\/12$/m);
      assert.match(result.stdout, /^export NCCL_SOCKET_IFNAME=ib0$/m);
      const file = path.join(dir, `${name}.sh`);
      fs.writeFileSync(file, result.stdout);
      const syntax = await run('bash', ['-n', file]);
      assert.equal(syntax.code, 0, `${name}: ${syntax.stderr}`);
    }
    const sweep = path.join(dir, 'sweep.sh');
    const outside = await run('bash', [sweep], { env: { ...process.env, JOULE_NODE: '/bin/false', 'BASH_FUNC_module%%': '() { :; }' } });
    assert.notEqual(outside.code, 0);
    assert.match(outside.stderr, /this script runs as a job array/);
  });

  describe('on the private SLURM cluster', function () {
    const cluster = useSlurmCluster();

    it('bench: joule launch on the batch host, two ranks on n1 and n2 by srun, the allreduce table and a complete run directory', async () => {
      const { env } = cluster();
      const output = path.join(dir, 'bench-%j.out');
      const result = await joule(['sbatch', '--template', 'bench', '--wait', '--json', '-N', '2', '--ntasks-per-node', '1', '-J', 'benchjob', '-o', output, '--', 'allreduce', '-b', '1K', '-e', '4K', '-f', '2', '-n', '2', '-w', '1'], env, { cwd: dir, timeoutMs: 120_000 });
      const summary = JSON.parse(result.stdout || '{}');
      const jobOutput = summary.jobId ? fs.readFileSync(output.replace('%j', summary.jobId), 'utf8') : '';
      assert.equal(result.code, 0, `${result.stderr}\n${jobOutput}`);
      assert.match(jobOutput, /busbw/);
      const [runDir, ...others] = runDirs(dir, 'benchjob');
      assert.equal(others.length, 0);
      const manifest = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
      assert.equal(manifest.status, 'succeeded');
      assert.equal(manifest.size, 2);
      assert.equal(manifest.launcher.mode, 'srun');
      assert.deepEqual([...manifest.hosts].sort(), ['n1', 'n2']);
      assert.equal(manifest.environment.SLURM_JOB_ID, summary.jobId);
      for (const file of ['events.jsonl', 'power.jsonl']) assert.ok(fs.existsSync(path.join(runDir, file)), file);
      assert.ok(manifest.energy?.totals, 'run.json has the energy summary');
      assertValidRunDir(runDir);
    });

    it('train: joule train on the batch host, ranks on both nodes, steps and the summary in the run directory', async () => {
      const { env } = cluster();
      const output = path.join(dir, 'train-%j.out');
      const result = await joule(
        ['sbatch', '--template', 'train', '--wait', '--json', '-N', '2', '--ntasks-per-node', '1', '-J', 'trainjob', '-o', output, '--', '--model', 'mlp', '--train-size', '128', '--test-size', '64', '--max-steps', '2'],
        env,
        { cwd: dir, timeoutMs: 180_000 },
      );
      const summary = JSON.parse(result.stdout || '{}');
      const jobOutput = summary.jobId ? fs.readFileSync(output.replace('%j', summary.jobId), 'utf8') : '';
      assert.equal(result.code, 0, `${result.stderr}\n${jobOutput}`);
      const [runDir] = runDirs(dir, 'trainjob');
      assert.ok(runDir, `no run directory; job output:\n${jobOutput}`);
      const manifest = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8'));
      assert.equal(manifest.status, 'succeeded');
      assert.deepEqual([...manifest.hosts].sort(), ['n1', 'n2']);
      assert.ok(fs.existsSync(path.join(runDir, 'steps.jsonl')));
      const trained = JSON.parse(fs.readFileSync(path.join(runDir, 'train-summary.json'), 'utf8'));
      assert.equal(trained.ranks, 2);
      assert.equal(trained.steps, 2);
      assertValidRunDir(runDir);
    });
  });
});
