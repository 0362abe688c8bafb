// Reading HEAD's commit from .git without a git process agrees with `git rev-parse HEAD`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gitCommit } from '../../src/report/git';

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' }).trim();
}

describe('gitCommit', () => {
  it('follows loose and packed branch refs, worktrees, and a detached HEAD, from a subfolder too', () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'joule-git-'));
    git(repo, 'init', '-q', '-b', 'main');
    fs.mkdirSync(path.join(repo, 'sub'));
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'one');
    assert.equal(gitCommit(path.join(repo, 'sub')), git(repo, 'rev-parse', 'HEAD'));
    git(repo, 'pack-refs', '--all');
    assert.equal(fs.existsSync(path.join(repo, '.git', 'refs', 'heads', 'main')), false);
    assert.equal(gitCommit(repo), git(repo, 'rev-parse', 'HEAD'));
    const tree = path.join(repo, 'wt');
    git(repo, 'worktree', 'add', '-q', '-b', 'side', tree);
    git(tree, 'commit', '-q', '--allow-empty', '-m', 'two');
    assert.equal(gitCommit(tree), git(tree, 'rev-parse', 'HEAD'));
    assert.notEqual(gitCommit(tree), gitCommit(repo));
    git(repo, 'checkout', '-q', '--detach');
    assert.equal(gitCommit(repo), git(repo, 'rev-parse', 'HEAD'));
    assert.equal(gitCommit(os.tmpdir()), null);
  });
});
