// Where the package lives on disk, whether running from src/ (tests) or dist/src/ (installed).
import fs from 'node:fs';
import path from 'node:path';

function findPackageRoot(start: string): string {
  let dir = start;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'joule') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`joule: cannot find the package root above ${start}`);
    dir = parent;
  }
}

export const packageRoot = findPackageRoot(__dirname);
export const packageVersion: string = JSON.parse(
  fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8'),
).version;
