// Job script templates (slurm/templates/*.sbatch): `{{name}}` placeholders filled with shell-safe text.
import fs from 'node:fs';
import path from 'node:path';
import { JouleError } from '../errors';
import { packageRoot } from '../paths';

export const templatesDir = path.join(packageRoot, 'slurm', 'templates');

/** Quotes one word for bash so that it reaches the program unchanged. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}

/** The file a --template argument names: a path when it has a '/', else slurm/templates/<name>.sbatch. */
export function templateFile(nameOrPath: string): string {
  if (nameOrPath.includes('/')) return path.resolve(nameOrPath);
  return path.join(templatesDir, nameOrPath.endsWith('.sbatch') ? nameOrPath : `${nameOrPath}.sbatch`);
}

export function readTemplate(nameOrPath: string): { file: string; text: string } {
  const file = templateFile(nameOrPath);
  try {
    return { file, text: fs.readFileSync(file, 'utf8') };
  } catch (error) {
    const known = fs.existsSync(templatesDir) ? fs.readdirSync(templatesDir).filter((f) => f.endsWith('.sbatch')).map((f) => f.slice(0, -7)) : [];
    throw new JouleError('JOULE_BAD_ARGUMENT', `cannot read template ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); templates: ${known.join(', ')}`, { file });
  }
}

/**
 * Fills every `{{name}}` of `text` from `values` (already shell-safe). A placeholder without a value is
 * an error naming it, so a custom template cannot silently run with a hole in it.
 */
export function renderTemplate(text: string, values: Record<string, string>, file: string): string {
  const missing = new Set<string>();
  const rendered = text.replace(/\{\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\}/g, (_, name: string) => {
    if (!(name in values)) missing.add(name);
    return values[name] ?? '';
  });
  if (missing.size > 0) {
    throw new JouleError('JOULE_BAD_ARGUMENT', `template ${file} uses unknown placeholder(s) ${[...missing].map((m) => `{{${m}}}`).join(', ')}; known: ${Object.keys(values).map((k) => `{{${k}}}`).join(', ')}`, { file });
  }
  // Empty blocks (no modules, no environment) would leave blank lines; keep at most one.
  return rendered.replace(/\n{3,}/g, '\n\n');
}
