// A reader for numpy's .npy format (versions 1–3): the header, then only the rows asked for, read at their offsets.
import * as fs from 'fs';
import { JouleError } from '../../errors';

export type NpyDtype = 'float32' | 'int32' | 'int64' | 'uint8';

/** numpy's descr strings for the little-endian types read here ('|' means byte order does not apply). */
const dtypes: Record<string, { dtype: NpyDtype; bytes: number }> = {
  '<f4': { dtype: 'float32', bytes: 4 },
  '<i4': { dtype: 'int32', bytes: 4 },
  '<i8': { dtype: 'int64', bytes: 8 },
  '|u1': { dtype: 'uint8', bytes: 1 },
};

const magic = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"

function bad(file: string, problem: string): JouleError {
  return new JouleError('JOULE_BAD_DATA', `${file}: ${problem}`, { file });
}

/** An .npy file's layout; rows are the first axis. */
export class NpyFile {
  readonly dtype: NpyDtype;
  readonly shape: number[];
  readonly rows: number;
  /** Elements in one row (the product of the other axes). */
  readonly rowElements: number;
  private readonly itemBytes: number;
  private readonly dataOffset: number;

  private constructor(readonly file: string, descr: { dtype: NpyDtype; bytes: number }, shape: number[], dataOffset: number) {
    this.dtype = descr.dtype;
    this.itemBytes = descr.bytes;
    this.shape = shape;
    this.rows = shape[0];
    this.rowElements = shape.slice(1).reduce((p, d) => p * d, 1);
    this.dataOffset = dataOffset;
  }

  /** Reads and checks the header (and that the file holds all its data); the data stays on disk. */
  static open(file: string): NpyFile {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (error) {
      throw bad(file, `cannot open: ${(error as Error).message}`);
    }
    try {
      const fileBytes = fs.fstatSync(fd).size;
      const preamble = Buffer.alloc(12);
      const got = fs.readSync(fd, preamble, 0, 12, 0);
      if (got < 10 || !preamble.subarray(0, 6).equals(magic)) throw bad(file, 'not an .npy file (no \\x93NUMPY magic)');
      const major = preamble[6];
      if (major < 1 || major > 3) throw bad(file, `.npy format version ${major}.${preamble[7]} is not supported (1.0 to 3.0 are)`);
      // Version 1 has a 2-byte header length; 2 and 3 have 4 bytes (3 only changes the text to UTF-8).
      const lengthBytes = major === 1 ? 2 : 4;
      const headerBytes = major === 1 ? preamble.readUInt16LE(8) : preamble.readUInt32LE(8);
      const headerStart = 8 + lengthBytes;
      const header = Buffer.alloc(headerBytes);
      if (fs.readSync(fd, header, 0, headerBytes, headerStart) !== headerBytes) throw bad(file, 'the header is cut short');
      const { descr, fortranOrder, shape } = parseHeader(file, header.toString(major === 3 ? 'utf8' : 'latin1'));
      const type = dtypes[descr];
      if (!type) throw bad(file, `dtype ${describeDescr(descr)} is not supported; use float32 for samples and int32, int64 or uint8 for labels (little-endian)`);
      if (fortranOrder) throw bad(file, 'is in Fortran (column-major) order; save np.ascontiguousarray(a) instead');
      if (shape.length === 0) throw bad(file, 'holds a scalar; it needs one row per sample');
      const dataBytes = shape.reduce((p, d) => p * d, 1) * type.bytes;
      const dataOffset = headerStart + headerBytes;
      if (fileBytes < dataOffset + dataBytes) throw bad(file, `is truncated: shape (${shape.join(', ')}) needs ${dataBytes} bytes of data, the file has ${fileBytes - dataOffset}`);
      return new NpyFile(file, type, shape, dataOffset);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The rows at `indices`, in that order, as numbers of the file's type (int64 must fit in ±2^53). */
  readRows(indices: readonly number[]): Float32Array | Int32Array | Float64Array | Uint8Array {
    const rowBytes = this.rowElements * this.itemBytes;
    const bytes = new Uint8Array(indices.length * rowBytes);
    const fd = fs.openSync(this.file, 'r');
    try {
      // One read per run of consecutive rows: a whole label file is one read, a shuffled batch one per sample.
      for (let start = 0; start < indices.length;) {
        let end = start + 1;
        while (end < indices.length && indices[end] === indices[end - 1] + 1) end++;
        const first = indices[start];
        const last = indices[end - 1];
        if (!Number.isInteger(first) || first < 0 || last >= this.rows) throw new JouleError('JOULE_BAD_ARGUMENT', `${this.file}: row ${first < 0 || !Number.isInteger(first) ? first : last} is outside 0 to ${this.rows - 1}`, { file: this.file });
        const length = (end - start) * rowBytes;
        if (fs.readSync(fd, bytes, start * rowBytes, length, this.dataOffset + first * rowBytes) !== length) throw bad(this.file, `rows ${first} to ${last} could not be read whole (the file shrank?)`);
        start = end;
      }
    } finally {
      fs.closeSync(fd);
    }
    return decode(this.file, this.dtype, bytes);
  }
}

function decode(file: string, dtype: NpyDtype, bytes: Uint8Array): Float32Array | Int32Array | Float64Array | Uint8Array {
  if (dtype === 'uint8') return bytes;
  // DataView reads little-endian on any host.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'float32') return Float32Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
  if (dtype === 'int32') return Int32Array.from({ length: bytes.length / 4 }, (_, i) => view.getInt32(i * 4, true));
  return Float64Array.from({ length: bytes.length / 8 }, (_, i) => {
    const value = view.getBigInt64(i * 8, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw bad(file, `int64 value ${value} is too large to use`);
    return Number(value);
  });
}

/** The header is a Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (100, 28, 28), }. */
function parseHeader(file: string, text: string): { descr: string; fortranOrder: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) {
    if (/'descr'\s*:\s*\[/.test(text)) throw bad(file, 'holds a structured (record) array; save plain arrays x and y instead');
    throw bad(file, `the header is not a numpy array header: ${text.trim().slice(0, 120)}`);
  }
  const dims = shape[1].split(',').map((d) => d.trim()).filter((d) => d.length > 0);
  if (!dims.every((d) => /^\d+$/.test(d))) throw bad(file, `the shape (${shape[1]}) is not a tuple of whole numbers`);
  return { descr: descr[1], fortranOrder: fortran[1] === 'True', shape: dims.map(Number) };
}

function describeDescr(descr: string): string {
  const names: Record<string, string> = { f8: 'float64', f2: 'float16', i2: 'int16', i1: 'int8', u2: 'uint16', u4: 'uint32', u8: 'uint64', b1: 'bool', O: 'object' };
  const byteOrder = descr[0] === '>' ? ' (big-endian)' : '';
  const name = names[descr.slice(1)] ?? dtypes[`<${descr.slice(1)}`]?.dtype;
  return name ? `${name}${byteOrder} ("${descr}")` : `"${descr}"`;
}
