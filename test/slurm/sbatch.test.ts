// `joule sbatch`: the rendered script carries the profile's values and makes its own secret; submission, job ids and exit codes on the private cluster.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/paths';
import { joule, jouleBin, run } from '../helpers/run';
import { useSlurmCluster } from '../helpers/slurm-cluster';
import { gpuProfile } from './fixtures';

describe('joule sbatch', function () {
  let dir = '';
  let profileFile = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-sbatch-'));
    profileFile = path.join(dir, 'testgpu.json');
    fs.writeFileSync(profileFile, JSON.stringify(gpuProfile));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('rendering (--dry-run)', () => {
    it("writes the profile's partition, account, GPUs, time and options as #SBATCH lines, command-line values first", async () => {
      const result = await joule(['sbatch', '--dry-run', '--profile', profileFile, '-N', '3', '--partition', 'debug', '--', 'node', 'train.js']);
      assert.equal(result.code, 0, result.stderr);
      const directives = result.stdout.split('\n').filter((line) => line.startsWith('#SBATCH '));
      assert.deepEqual(directives, [
        '#SBATCH --job-name=train',
        '#SBATCH --nodes=3',
        '#SBATCH --ntasks-per-node=4',
        '#SBATCH --gpus-per-node=4',
        '#SBATCH --time=1:00:00',
        '#SBATCH --partition=debug',
        '#SBATCH --account=proj42',
        '#SBATCH --qos=normal',
        '#SBATCH --exclusive',
        '#SBATCH --reservation=big',
      ]);
      assert.match(result.stdout, /^module load cuda\/12\.4\nmodule load nodejs\/20$/m);
      assert.match(result.stdout, /^export LITERAL='a \$HOME b'$/m);
    });

    it('renders the local profile without partition or GPUs, and prints the resolved job with --json', async () => {
      const result = await joule(['sbatch', '--dry-run', '--json', '-J', 'smoke', '--', 'node', 'x.js']);
      assert.equal(result.code, 0, result.stderr);
      const { job, script } = JSON.parse(result.stdout);
      assert.equal(job.profile, 'local');
      assert.equal(job.partition, null);
      assert.equal(job.gpusPerNode, 0);
      assert.equal(job.ntasksPerNode, 1);
      assert.doesNotMatch(script, /--partition|--gpus-per-node/);
      assert.match(script, /launch --profile local --name smoke -- node x\.js$/m);
    });

    it('runs as bash: modules, environment and setup in order, a fresh 256-bit secret each time, never printed or passed as an argument', async () => {
      const rendered = await joule(['sbatch', '--dry-run', '--profile', profileFile, '-J', 'exec', '--', 'node', 'train.js', "it's a b"]);
      assert.equal(rendered.code, 0, rendered.stderr);
      const script = path.join(dir, 'job.sh');
      fs.writeFileSync(script, rendered.stdout, { mode: 0o700 });
      const log = path.join(dir, 'log.txt');
      const fakeNode = path.join(dir, 'fake-node.sh');
      // Stands in for node: records what `joule launch` would have been given.
      fs.writeFileSync(fakeNode, '#!/bin/bash\nprintf "arg %s\\n" "$@" >> "$JOULE_TEST_LOG"\necho "secret $JOULE_JOB_SECRET" >> "$JOULE_TEST_LOG"\necho "env $NCCL_SOCKET_IFNAME|$LITERAL" >> "$JOULE_TEST_LOG"\n', { mode: 0o700 });
      const secrets: string[] = [];
      for (let i = 0; i < 2; i++) {
        fs.rmSync(log, { force: true });
        const result = await run('bash', [script], {
          env: { ...process.env, JOULE_NODE: fakeNode, JOULE_TEST_LOG: log, 'BASH_FUNC_module%%': '() { echo "module $*" >> "$JOULE_TEST_LOG"; }' },
        });
        assert.equal(result.code, 0, result.stderr);
        const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
        const secret = lines.find((line) => line.startsWith('secret '))!.slice(7);
        assert.match(secret, /^[0-9a-f]{64}$/);
        assert.ok(!result.stdout.includes(secret) && !result.stderr.includes(secret), 'the script printed the secret');
        assert.ok(!lines.some((line) => line.startsWith('arg ') && line.includes(secret)), 'the secret was passed as an argument');
        secrets.push(secret);
        assert.deepEqual(
          lines.filter((line) => !line.startsWith('secret ')),
          [
            'module load cuda/12.4',
            'module load nodejs/20',
            'setup ran',
            `arg ${path.join(packageRoot, 'bin', 'joule.js')}`,
            'arg launch',
            'arg --profile',
            `arg ${profileFile}`,
            'arg --name',
            'arg exec',
            'arg --',
            'arg node',
            'arg train.js',
            "arg it's a b",
            'env ib0|a $HOME b',
          ],
        );
      }
      assert.notEqual(secrets[0], secrets[1]);
    });
  });

  describe('errors', () => {
    it('exits 2 with JOULE_UNKNOWN_PROFILE and the known profiles', async () => {
      const result = await joule(['sbatch', '--dry-run', '--profile', 'atlantis', '--', 'node', 'x.js']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /unknown profile "atlantis"; known profiles: .*local.*\[JOULE_UNKNOWN_PROFILE\]/);
    });

    it('exits 2 with JOULE_BAD_ARGUMENT naming the flag for bad values', async () => {
      for (const [args, flag] of [
        [['-N', '0'], '--nodes'],
        [['--ntasks-per-node', '1.5'], '--ntasks-per-node'],
        [['--time', 'soon'], '--time'],
        [['--partition', 'a b'], '--partition'],
        [['-J', '../x'], '--name'],
      ] as const) {
        const result = await joule(['sbatch', '--dry-run', ...args, '--', 'node', 'x.js']);
        assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
        assert.match(result.stderr, new RegExp(`${flag} .*\\[JOULE_BAD_ARGUMENT\\]`));
      }
      const noCommand = await joule(['sbatch', '--dry-run']);
      assert.equal(noCommand.code, 2);
      assert.match(noCommand.stderr, /no command to run/);
    });

    it('names unknown placeholders of a custom template', async () => {
      const template = path.join(dir, 'custom.sbatch');
      fs.writeFileSync(template, '#!/bin/bash\n{{sbatch}}\n{{colour}}\n');
      const result = await joule(['sbatch', '--dry-run', '--template', template, '--', 'node', 'x.js']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /unknown placeholder\(s\) \{\{colour\}\}/);
    });

    it('exits 1 with JOULE_SLURM_UNAVAILABLE when sbatch is not installed', async () => {
      const empty = fs.mkdtempSync(path.join(dir, 'path-'));
      const result = await joule(['sbatch', '--', 'node', 'x.js'], { PATH: empty });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /sbatch not found on PATH.*--dry-run.*\[JOULE_SLURM_UNAVAILABLE\]/);
    });
  });

  describe('on the private SLURM cluster', function () {
    const cluster = useSlurmCluster();

    it('--wait returns the exit code of a two-node job started by the srun template, --json gives the job id', async () => {
      const { env } = cluster();
      const result = await joule(
        ['sbatch', '--template', 'srun', '--wait', '--json', '-N', '2', '--ntasks-per-node', '2', '-J', 'codes', '-o', path.join(dir, '%x-%j.out'), '--', 'bash', '-c', 'echo "$SLURM_PROCID $SLURM_NODEID ${#JOULE_JOB_SECRET}"; exit 7'],
        env,
        { cwd: dir, timeoutMs: 60_000 },
      );
      assert.equal(result.code, 7, result.stderr);
      const summary = JSON.parse(result.stdout);
      assert.match(summary.jobId, /^\d+$/);
      assert.equal(summary.exitCode, 7);
      const output = fs.readFileSync(path.join(dir, `codes-${summary.jobId}.out`), 'utf8').split('\n').filter((line) => /^\d/.test(line)).sort();
      assert.deepEqual(output, ['0 0 64', '1 0 64', '2 1 64', '3 1 64']);
    });

    it('without --wait prints only the job id, and the job runs to completion', async () => {
      const { env } = cluster();
      const result = await joule(['sbatch', '--template', 'srun', '-o', path.join(dir, 'plain-%j.out'), '--', 'true'], env, { cwd: dir });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^\d+\n$/);
      const jobId = result.stdout.trim();
      let state = '';
      for (let i = 0; i < 200 && state !== 'COMPLETED'; i++) {
        state = /JobState=(\S+)/.exec((await run('scontrol', ['show', 'job', '-o', jobId], { env })).stdout)?.[1] ?? '';
        if (state !== 'COMPLETED') await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.equal(state, 'COMPLETED');
    });

    it('SIGINT to joule sbatch --wait stops the wait, not the job, and says how to stop the job', async () => {
      const { env } = cluster();
      const child = spawn(process.execPath, [jouleBin, 'sbatch', '--wait', '--template', 'srun', '-J', 'longjob', '-o', path.join(dir, 'long-%j.out'), '--', 'sleep', '300'], { env, cwd: dir });
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      const jobId = await new Promise<string>((resolve) => {
        child.stdout.on('data', (chunk) => {
          stdout += chunk;
          const id = /^(\d+)\n/.exec(stdout)?.[1];
          if (id) resolve(id);
        });
      });
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      try {
        assert.equal(code, 1);
        assert.match(stderr, new RegExp(`stopped waiting for job ${jobId} on SIGINT; the job goes on \\(scancel ${jobId} stops it\\) \\[JOULE_ABORTED\\]`));
        const state = /JobState=(\S+)/.exec((await run('scontrol', ['show', 'job', '-o', jobId], { env })).stdout)?.[1];
        assert.ok(state === 'RUNNING' || state === 'PENDING' || state === 'CONFIGURING', `job state ${state}`);
      } finally {
        await run('scancel', [jobId], { env });
      }
    });

    it('reports what sbatch said when it refuses the job', async () => {
      const { env } = cluster();
      const result = await joule(['sbatch', '--template', 'srun', '--partition', 'nosuchpartition', '--', 'true'], env, { cwd: dir });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /sbatch did not submit the job .*invalid partition.*\[JOULE_SBATCH_FAILED\]/i);
    });
  });
});
