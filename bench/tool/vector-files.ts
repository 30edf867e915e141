// Readers and writers of the standard vector file formats, so the benchmark runs on published data sets
// (SIFT, GIST, Deep, ...) as well as on generated ones:
//  - .fvecs / .ivecs / .bvecs (the TEXMEX format): each vector is a little-endian int32 dimension followed
//    by that many float32 / int32 / uint8 components;
//  - .npy (NumPy's format, versions 1 to 3): a magic string, a header dictionary, then a C-order array
//    of shape (rows, dim) of float32, float64, int32, int64 or uint8.
// Every reader returns rows × dim values row-major, and checks that every vector has the same dimension
// and that the file ends on a vector boundary, so a truncated download is refused, not half read.

import { readFileSync, writeFileSync } from "node:fs";
import { extname } from "node:path";
import { invalidArgument } from "../../common/errors.ts";

export interface VectorMatrix<T extends Float32Array | Int32Array> {
  rows: number;
  dim: number;
  /** rows × dim, row-major. */
  values: T;
}

export type VecsKind = "fvecs" | "ivecs" | "bvecs";

const componentBytes: Record<VecsKind, number> = { fvecs: 4, ivecs: 4, bvecs: 1 };

/** Allocates `length` floats, in a SharedArrayBuffer when `shared` (so worker threads read them in place). */
export function allocateFloats(length: number, shared: boolean): Float32Array {
  return new Float32Array(shared ? new SharedArrayBuffer(length * 4) : new ArrayBuffer(length * 4));
}

/** Parses a TEXMEX file's bytes. `rowsMax` stops after that many vectors (a prefix of SIFT1B, say). */
export function parseVecs(bytes: Uint8Array, kind: VecsKind, options: { rowsMax?: number; shared?: boolean; what?: string } = {}): VectorMatrix<Float32Array | Int32Array> {
  const what = options.what ?? `.${kind} data`;
  if (bytes.length < 4) throw invalidArgument(`${what}: ${bytes.length} bytes is too short for a ${kind} file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dim = view.getInt32(0, true);
  if (dim <= 0 || dim > 1_000_000) throw invalidArgument(`${what}: first vector has dimension ${dim}; not a ${kind} file?`);
  const recordBytes = 4 + dim * componentBytes[kind];
  if (bytes.length % recordBytes !== 0) {
    throw invalidArgument(`${what}: ${bytes.length} bytes is not a whole number of ${recordBytes}-byte vectors of dimension ${dim} (truncated?)`);
  }
  const rows = Math.min(bytes.length / recordBytes, options.rowsMax ?? Number.POSITIVE_INFINITY);
  const shared = options.shared ?? false;
  const values = kind === "ivecs" ? new Int32Array(shared ? new SharedArrayBuffer(rows * dim * 4) : new ArrayBuffer(rows * dim * 4)) : allocateFloats(rows * dim, shared);
  for (let row = 0; row < rows; row++) {
    const offset = row * recordBytes;
    const rowDim = view.getInt32(offset, true);
    if (rowDim !== dim) throw invalidArgument(`${what}: vector ${row} has dimension ${rowDim}, the first has ${dim}`);
    const base = row * dim;
    if (kind === "fvecs") for (let i = 0; i < dim; i++) values[base + i] = view.getFloat32(offset + 4 + i * 4, true);
    else if (kind === "ivecs") for (let i = 0; i < dim; i++) values[base + i] = view.getInt32(offset + 4 + i * 4, true);
    else for (let i = 0; i < dim; i++) values[base + i] = bytes[offset + 4 + i] as number;
  }
  return { rows, dim, values };
}

/** Encodes rows × dim values in a TEXMEX format (bvecs components must be integers in [0, 255]). */
export function encodeVecs(matrix: VectorMatrix<Float32Array | Int32Array>, kind: VecsKind): Uint8Array {
  const { rows, dim, values } = matrix;
  if (values.length !== rows * dim) throw invalidArgument(`encode ${kind}: ${values.length} values for ${rows} × ${dim}`);
  const recordBytes = 4 + dim * componentBytes[kind];
  const bytes = new Uint8Array(rows * recordBytes);
  const view = new DataView(bytes.buffer);
  for (let row = 0; row < rows; row++) {
    const offset = row * recordBytes;
    view.setInt32(offset, dim, true);
    for (let i = 0; i < dim; i++) {
      const value = values[row * dim + i] as number;
      if (kind === "fvecs") view.setFloat32(offset + 4 + i * 4, value, true);
      else if (kind === "ivecs") view.setInt32(offset + 4 + i * 4, value, true);
      else {
        if (!Number.isInteger(value) || value < 0 || value > 255) throw invalidArgument(`encode bvecs: component ${value} of vector ${row} is not a byte`);
        bytes[offset + 4 + i] = value;
      }
    }
  }
  return bytes;
}

type NpyType = "<f4" | "<f8" | "<i4" | "<i8" | "|u1";
const npyItemBytes: Record<NpyType, number> = { "<f4": 4, "<f8": 8, "<i4": 4, "<i8": 8, "|u1": 1 };
const npyMagic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parses a .npy file holding a 2-D (rows, dim) or 1-D (dim) array; values become float32. */
export function parseNpy(bytes: Uint8Array, options: { rowsMax?: number; shared?: boolean; what?: string } = {}): VectorMatrix<Float32Array> {
  const what = options.what ?? ".npy data";
  if (bytes.length < 10 || npyMagic.some((byte, i) => bytes[i] !== byte)) throw invalidArgument(`${what}: not a .npy file (no \\x93NUMPY magic)`);
  const major = bytes[6] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  if (major < 1 || major > 3) throw invalidArgument(`${what}: .npy version ${major} is not supported (1 to 3)`);
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw invalidArgument(`${what}: unreadable .npy header ${JSON.stringify(header)}`);
  if (fortran === "True") throw invalidArgument(`${what}: Fortran-order arrays are not supported; save with C order`);
  if (!Object.hasOwn(npyItemBytes, descr)) throw invalidArgument(`${what}: element type ${descr} is not supported (float32, float64, int32, int64, uint8, little-endian)`);
  const type = descr as NpyType;
  const shape = shapeText.split(",").map((part) => part.trim()).filter((part) => part !== "").map(Number);
  if (shape.length < 1 || shape.length > 2 || shape.some((extent) => !Number.isInteger(extent) || extent < 0)) {
    throw invalidArgument(`${what}: shape (${shapeText}) is not (rows, dim) or (dim)`);
  }
  const [fileRows, dim] = shape.length === 2 ? [shape[0] as number, shape[1] as number] : [1, shape[0] as number];
  const dataStart = headerStart + headerLength;
  const itemBytes = npyItemBytes[type];
  if (bytes.length - dataStart !== fileRows * dim * itemBytes) {
    throw invalidArgument(`${what}: ${bytes.length - dataStart} data bytes, but shape (${fileRows}, ${dim}) of ${type} needs ${fileRows * dim * itemBytes} (truncated?)`);
  }
  const rows = Math.min(fileRows, options.rowsMax ?? Number.POSITIVE_INFINITY);
  const values = allocateFloats(rows * dim, options.shared ?? false);
  for (let i = 0; i < rows * dim; i++) {
    const offset = dataStart + i * itemBytes;
    switch (type) {
      case "<f4":
        values[i] = view.getFloat32(offset, true);
        break;
      case "<f8":
        values[i] = view.getFloat64(offset, true);
        break;
      case "<i4":
        values[i] = view.getInt32(offset, true);
        break;
      case "<i8":
        values[i] = Number(view.getBigInt64(offset, true));
        break;
      case "|u1":
        values[i] = bytes[offset] as number;
        break;
    }
  }
  return { rows, dim, values };
}

/** Encodes rows × dim float32 values as a version 1.0 .npy file (header padded to 64 bytes, as NumPy does). */
export function encodeNpy(matrix: VectorMatrix<Float32Array>): Uint8Array {
  const { rows, dim, values } = matrix;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`;
  const unpadded = 10 + header.length + 1;
  header += " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const bytes = new Uint8Array(10 + header.length + rows * dim * 4);
  bytes.set(npyMagic, 0);
  bytes[6] = 1;
  bytes[7] = 0;
  new DataView(bytes.buffer).setUint16(8, header.length, true);
  bytes.set(new TextEncoder().encode(header), 10);
  const view = new DataView(bytes.buffer);
  const start = 10 + header.length;
  for (let i = 0; i < rows * dim; i++) view.setFloat32(start + i * 4, values[i] as number, true);
  return bytes;
}

/** The format a path's extension names, or undefined. */
export function vectorFileKind(path: string): VecsKind | "npy" | undefined {
  const extension = extname(path).toLowerCase().slice(1);
  if (extension === "fvecs" || extension === "ivecs" || extension === "bvecs" || extension === "npy") return extension;
  return undefined;
}

/** Reads a float vector file (.fvecs, .bvecs or .npy) as float32 rows. */
export function readFloatVectors(path: string, options: { rowsMax?: number; shared?: boolean } = {}): VectorMatrix<Float32Array> {
  const kind = vectorFileKind(path);
  const bytes = readFileSync(path);
  if (kind === "npy") return parseNpy(bytes, { ...options, what: path });
  if (kind === "fvecs" || kind === "bvecs") return parseVecs(bytes, kind, { ...options, what: path }) as VectorMatrix<Float32Array>;
  throw invalidArgument(`${path}: not a vector file this tool reads (.fvecs, .bvecs, .npy${kind === "ivecs" ? "; .ivecs holds integer ids such as ground truth" : ""})`);
}

/** Reads an .ivecs file (ground-truth neighbour ids, one row per query). */
export function readIvecs(path: string, options: { rowsMax?: number } = {}): VectorMatrix<Int32Array> {
  if (vectorFileKind(path) !== "ivecs") throw invalidArgument(`${path}: ground truth must be an .ivecs file`);
  return parseVecs(readFileSync(path), "ivecs", { ...options, what: path }) as VectorMatrix<Int32Array>;
}

export function writeVecsFile(path: string, matrix: VectorMatrix<Float32Array | Int32Array>, kind: VecsKind): void {
  writeFileSync(path, encodeVecs(matrix, kind));
}
