// The commit a directory's git checkout is at, read from .git itself: no git process on the start path.
import fs from 'node:fs';
import path from 'node:path';

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The git directory for `dir`: `.git` itself, or the one a worktree's `.git` file points at. */
function gitDir(dir: string): string | undefined {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const dotGit = path.join(current, '.git');
    try {
      if (fs.statSync(dotGit).isDirectory()) return dotGit;
      const pointer = /^gitdir:\s*(.+)$/m.exec(readText(dotGit) ?? '')?.[1];
      if (pointer) return path.resolve(current, pointer.trim());
    } catch {
      // no .git here: look further up
    }
    if (path.dirname(current) === current) return undefined;
  }
}

/** HEAD's commit (40 hex digits), following a branch ref loose or packed; null outside a checkout. */
export function gitCommit(dir: string): string | null {
  const git = gitDir(dir);
  if (!git) return null;
  const head = readText(path.join(git, 'HEAD'))?.trim();
  if (!head) return null;
  if (/^[0-9a-f]{40}$/.test(head)) return head;
  const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
  if (!ref) return null;
  // Worktrees keep HEAD privately but share refs with the main repository (its path is in `commondir`).
  const common = readText(path.join(git, 'commondir'))?.trim();
  const refsRoot = common ? path.resolve(git, common) : git;
  for (const root of [git, refsRoot]) {
    const loose = readText(path.join(root, ref))?.trim();
    if (loose && /^[0-9a-f]{40}$/.test(loose)) return loose;
  }
  const packed = readText(path.join(refsRoot, 'packed-refs')) ?? '';
  for (const line of packed.split('\n')) {
    const [sha, name] = line.split(' ');
    if (name === ref && /^[0-9a-f]{40}$/.test(sha)) return sha;
  }
  return null;
}
