// SLURM hostlist expressions (`n[01-04,07]`, `rack[1-2]-n[1-3]`): expansion and compression that give what `scontrol show hostnames` / `scontrol show hostlist` give.
import { JouleError } from '../errors';

/** scontrol refuses one bracket range of more hosts than this (`n[0-65535]` is accepted, `n[0-65536]` is not). */
const maxHostsPerRange = 65536;
/** A cap on a whole expansion so that `a[0-65535]b[0-65535]` fails with a message instead of exhausting memory. */
const maxHostsPerExpression = 1 << 20;
/** Digits beyond this would lose precision as a JavaScript number; such suffixes are kept as plain names. */
const maxSuffixDigits = 15;

/** Characters that separate hostlist entries outside brackets (scontrol splits on these too). */
const separators = new Set([',', ' ', '\t', '\n']);

function bad(expr: string, position: number, why: string): JouleError {
  return new JouleError('JOULE_BAD_HOSTLIST', `bad hostlist ${JSON.stringify(expr)} at position ${position}: ${why}`, {
    expression: expr,
    position,
  });
}

interface Token {
  text: string;
  /** Offset of text[0] in the whole expression, for error positions. */
  start: number;
}

/** Splits at separators outside brackets; checks bracket balance. */
function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let start = -1;
  let open = -1;
  for (let i = 0; i <= expr.length; i++) {
    const c = i < expr.length ? expr[i] : undefined;
    if (c === '[') {
      if (open >= 0) throw bad(expr, i, "'[' inside brackets");
      open = i;
    } else if (c === ']') {
      if (open < 0) throw bad(expr, i, "']' without '['");
      open = -1;
    }
    const separator = c === undefined || (open < 0 && separators.has(c));
    if (separator) {
      if (c === undefined && open >= 0) throw bad(expr, open, "'[' is never closed");
      if (start >= 0) tokens.push({ text: expr.slice(start, i), start });
      start = -1;
    } else if (start < 0) {
      start = i;
    }
  }
  return tokens;
}

/** The numbers of one bracket group as zero-padded strings, in the order written. */
function parseRangeList(expr: string, body: string, bodyStart: number): string[] {
  const values: string[] = [];
  let offset = 0;
  for (const item of body.split(',')) {
    const position = bodyStart + offset;
    offset += item.length + 1;
    const match = /^(\d+)(?:-(\d+))?$/.exec(item);
    if (!match) throw bad(expr, position, `${JSON.stringify(item)} is not a number or a range lo-hi`);
    const [, loText, hiText] = match;
    if (loText.length > maxSuffixDigits || (hiText?.length ?? 0) > maxSuffixDigits) {
      throw bad(expr, position, `${JSON.stringify(item)} has too many digits`);
    }
    const lo = Number(loText);
    const hi = hiText === undefined ? lo : Number(hiText);
    if (lo > hi) throw bad(expr, position, `range ${item} runs backwards`);
    if (hi - lo + 1 > maxHostsPerRange) throw bad(expr, position, `range ${item} has more than ${maxHostsPerRange} hosts`);
    // SLURM pads every number to the width of the range's low end: n[08-10] gives n08 n09 n10, n[8-010] gives n8 n9 n10.
    const width = loText.length;
    for (let n = lo; n <= hi; n++) values.push(String(n).padStart(width, '0'));
  }
  return values;
}

function expandToken(expr: string, token: Token, out: string[]): void {
  const { text, start } = token;
  const literals: string[] = [];
  const groups: string[][] = [];
  let cursor = 0;
  for (;;) {
    const open = text.indexOf('[', cursor);
    if (open < 0) break;
    const close = text.indexOf(']', open);
    literals.push(text.slice(cursor, open));
    groups.push(parseRangeList(expr, text.slice(open + 1, close), start + open + 1));
    cursor = close + 1;
  }
  if (groups.length === 0) {
    out.push(text);
    return;
  }
  if (cursor !== text.length) throw bad(expr, start + cursor, 'text after the last bracket group');
  const total = groups.reduce((product, group) => product * group.length, 1);
  if (out.length + total > maxHostsPerExpression) {
    throw bad(expr, start, `expands to more than ${maxHostsPerExpression} hosts`);
  }
  // SLURM's loop order (hostlist.c recurses on the prefix from its last bracket backwards): the
  // second-to-last group is outermost, then each earlier group, and the last group innermost.
  // For two groups this is the natural order; `a[1-2]b[3-4]c[5-6]` gives a1b3c5 a1b3c6 a2b3c5 ...
  const k = groups.length;
  const loopOrder = k === 1 ? [0] : [...Array.from({ length: k - 1 }, (_, i) => k - 2 - i), k - 1];
  const chosen: string[] = new Array<string>(k);
  const loop = (depth: number): void => {
    if (depth === k) {
      let host = '';
      for (let g = 0; g < k; g++) host += literals[g] + chosen[g];
      out.push(host);
      return;
    }
    const g = loopOrder[depth];
    for (const value of groups[g]) {
      chosen[g] = value;
      loop(depth + 1);
    }
  };
  loop(0);
}

/**
 * Expands a SLURM hostlist expression into host names, in `scontrol show hostnames` order, duplicates
 * kept. Throws JouleError `JOULE_BAD_HOSTLIST` (details: expression, position) on a malformed
 * expression, including ones scontrol accepts only by accident of its C parsing (`n[1-3` gives `n]`,
 * `n[1a-3]` gives `n01 n02 n03`).
 */
export function expandHostlist(expr: string): string[] {
  const hosts: string[] = [];
  for (const token of tokenize(expr)) expandToken(expr, token, hosts);
  return hosts;
}

interface HostRange {
  prefix: string;
  lo: number;
  hi: number;
  width: number;
  /** A name without a numeric suffix: never joins a range or a bracket group. */
  single: boolean;
}

function zeroPadding(n: number, width: number): number {
  const digits = String(n).length;
  return width > digits ? width - digits : 0;
}

/**
 * SLURM's _width_equiv: can a range of width `a.width` starting at `a.lo` take `b` (of its own width)?
 * n9 joins n10 (n[9-10]); n02 does not join n3. Adjusts the widths as SLURM does when it can.
 */
function widthsCombine(a: HostRange, b: HostRange): boolean {
  if (a.width === b.width) return true;
  const aPad = zeroPadding(a.lo, a.width);
  const aPadAsB = zeroPadding(a.lo, b.width);
  const bPad = zeroPadding(b.lo, b.width);
  const bPadAsA = zeroPadding(b.lo, a.width);
  if (aPad !== aPadAsB && bPad !== bPadAsA) return false;
  if (aPad !== aPadAsB) b.width = a.width;
  else a.width = b.width;
  return true;
}

function parseHost(host: string, index: number): HostRange {
  if (host.length === 0 || /[[\],\s]/.test(host)) {
    throw new JouleError('JOULE_BAD_HOSTLIST', `bad host name ${JSON.stringify(host)} at index ${index}: empty, or holds a bracket, comma or space`, {
      host,
      position: index,
    });
  }
  const digits = /\d+$/.exec(host)?.[0] ?? '';
  if (digits.length === 0 || digits.length > maxSuffixDigits) return { prefix: host, lo: 0, hi: 0, width: 0, single: true };
  const n = Number(digits);
  return { prefix: host.slice(0, host.length - digits.length), lo: n, hi: n, width: digits.length, single: false };
}

function sameGroup(a: HostRange, b: HostRange | undefined): boolean {
  return b !== undefined && a.prefix === b.prefix && !a.single && !b.single;
}

function numbers(range: HostRange): string {
  const lo = String(range.lo).padStart(range.width, '0');
  return range.hi > range.lo ? `${lo}-${String(range.hi).padStart(range.width, '0')}` : lo;
}

/**
 * Compresses host names into a hostlist expression the way `scontrol show hostlist` does: order and
 * duplicates kept (`n3,n1,n2` gives `n[3,1-2]`), so expandHostlist(compressHostlist(h)) equals h.
 */
export function compressHostlist(hosts: readonly string[]): string {
  const ranges: HostRange[] = [];
  hosts.forEach((host, index) => {
    const range = parseHost(host, index);
    const tail = ranges[ranges.length - 1];
    if (tail && !tail.single && !range.single && tail.prefix === range.prefix && tail.hi === range.lo - 1 && widthsCombine(tail, range)) {
      tail.hi = range.hi;
    } else {
      ranges.push(range);
    }
  });
  const parts: string[] = [];
  for (let i = 0; i < ranges.length; ) {
    const first = ranges[i];
    if (first.single) {
      parts.push(first.prefix);
      i++;
      continue;
    }
    const group = [numbers(first)];
    for (i++; i < ranges.length && sameGroup(ranges[i], ranges[i - 1]); i++) group.push(numbers(ranges[i]));
    const bracket = group.length > 1 || first.hi > first.lo;
    parts.push(bracket ? `${first.prefix}[${group.join(',')}]` : first.prefix + group[0]);
  }
  return parts.join(',');
}

/**
 * Parses SLURM_TASKS_PER_NODE (`2(x3),1`: two tasks on each of three nodes, then one) into one count
 * per node. Throws JOULE_BAD_ARGUMENT with the position of the first malformed item.
 */
export function parseTasksPerNode(value: string): number[] {
  const counts: number[] = [];
  let offset = 0;
  for (const item of value.split(',')) {
    const match = /^(\d+)(?:\(x(\d+)\))?$/.exec(item);
    const tasks = match ? Number(match[1]) : NaN;
    const repeat = match?.[2] === undefined ? 1 : Number(match[2]);
    if (!match || repeat < 1 || repeat > maxHostsPerExpression) {
      throw new JouleError('JOULE_BAD_ARGUMENT', `bad SLURM_TASKS_PER_NODE ${JSON.stringify(value)} at position ${offset}: expected N or N(xM)`, {
        variable: 'SLURM_TASKS_PER_NODE',
        value,
        position: offset,
      });
    }
    for (let r = 0; r < repeat; r++) counts.push(tasks);
    offset += item.length + 1;
  }
  return counts;
}
