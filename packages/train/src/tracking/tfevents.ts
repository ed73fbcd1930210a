// TensorBoard event files, written without TensorFlow: the npm registry has no maintained
// writer (tfjs-node's summaryFileWriter needs the native TensorFlow binding), and the format
// is small. An event file is a sequence of TFRecords:
//   uint64 length (little-endian) | uint32 masked CRC32C of the length bytes | data | uint32 masked CRC32C of data
// where data is a serialized tensorflow.Event protobuf. The fields written here:
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary { repeated Value value = 1; }
//   Value   { string tag = 1; float simple_value = 2; }
// The first event carries file_version "brain.Event:2", as TensorFlow's own writer does.
import { appendFileSync, openSync, closeSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError, toFileSystemError } from '@vzero/core';

// --- CRC32C (Castagnoli, reflected polynomial 0x82F63B78) and TensorFlow's mask ---------------

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    crc = (CRC32C_TABLE[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** TensorFlow's masked CRC: rotate right by 15 bits and add a constant (tensorflow/core/lib/hash/crc32c.h). */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

// --- protobuf encoding of the few fields used -----------------------------------------------

function varint(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function lengthDelimited(field: number, payload: Uint8Array): Uint8Array {
  return concat([Uint8Array.from([(field << 3) | 2, ...varint(payload.length)]), payload]);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface ScalarValue {
  readonly tag: string;
  readonly value: number;
}

export interface TfEvent {
  readonly wallTime: number;
  readonly step?: number;
  readonly fileVersion?: string;
  readonly scalars?: readonly ScalarValue[];
}

const utf8 = new TextEncoder();

/** The serialized tensorflow.Event protobuf of `event`. */
export function encodeEvent(event: TfEvent): Uint8Array {
  const parts: Uint8Array[] = [];
  const wall = new Uint8Array(9);
  wall[0] = (1 << 3) | 1; // wall_time: fixed64 double
  new DataView(wall.buffer).setFloat64(1, event.wallTime, true);
  parts.push(wall);
  if (event.step !== undefined) parts.push(Uint8Array.from([2 << 3, ...varint(Math.trunc(event.step))]));
  if (event.fileVersion !== undefined) parts.push(lengthDelimited(3, utf8.encode(event.fileVersion)));
  if (event.scalars && event.scalars.length > 0) {
    const values = event.scalars.map((s) => {
      const simple = new Uint8Array(5);
      simple[0] = (2 << 3) | 5; // simple_value: fixed32 float
      new DataView(simple.buffer).setFloat32(1, s.value, true);
      return lengthDelimited(1, concat([lengthDelimited(1, utf8.encode(s.tag)), simple]));
    });
    parts.push(lengthDelimited(5, concat(values)));
  }
  return concat(parts);
}

/** One TFRecord framing `data`. */
export function encodeRecord(data: Uint8Array): Uint8Array {
  const header = new Uint8Array(12);
  const view = new DataView(header.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(header.subarray(0, 8)), true);
  const footer = new Uint8Array(4);
  new DataView(footer.buffer).setUint32(0, maskedCrc32c(data), true);
  return concat([header, data, footer]);
}

// --- reading back (tests, and anyone checking a file) ----------------------------------------

/** Splits a TFRecord file into its records, checking both CRCs of each. */
export function decodeRecords(bytes: Uint8Array, path = 'event file'): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let o = 0;
  while (o < bytes.length) {
    if (o + 12 > bytes.length)
      throw new InvalidInputError('event file', path, `record at byte ${o} is cut short (header)`);
    const length = Number(view.getBigUint64(o, true));
    if (view.getUint32(o + 8, true) !== maskedCrc32c(bytes.subarray(o, o + 8)))
      throw new InvalidInputError('event file', path, `record at byte ${o}: length CRC mismatch`);
    const start = o + 12;
    if (start + length + 4 > bytes.length)
      throw new InvalidInputError('event file', path, `record at byte ${o} is cut short (data)`);
    const data = bytes.subarray(start, start + length);
    if (view.getUint32(start + length, true) !== maskedCrc32c(data))
      throw new InvalidInputError('event file', path, `record at byte ${o}: data CRC mismatch`);
    out.push(data);
    o = start + length + 4;
  }
  return out;
}

class Reader {
  o = 0;
  constructor(readonly bytes: Uint8Array) {}
  get done(): boolean {
    return this.o >= this.bytes.length;
  }
  varint(): bigint {
    let shift = 0n;
    let v = 0n;
    for (;;) {
      const b = this.bytes[this.o++];
      if (b === undefined) throw new Error('truncated varint');
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
    }
  }
  take(n: number): Uint8Array {
    if (this.o + n > this.bytes.length) throw new Error('truncated field');
    const out = this.bytes.subarray(this.o, this.o + n);
    this.o += n;
    return out;
  }
  /** Reads one field: [number, wire type, payload]. */
  field(): {
    readonly field: number;
    readonly wire: number;
    readonly bytes?: Uint8Array;
    readonly int?: bigint;
  } {
    const key = Number(this.varint());
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) return { field, wire, int: this.varint() };
    if (wire === 1) return { field, wire, bytes: this.take(8) };
    if (wire === 2) return { field, wire, bytes: this.take(Number(this.varint())) };
    if (wire === 5) return { field, wire, bytes: this.take(4) };
    throw new Error(`unsupported wire type ${wire}`);
  }
}

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const utf8Decoder = new TextDecoder();

/** Decodes the Event fields this module writes (others are skipped). */
export function decodeEvent(data: Uint8Array): TfEvent {
  const r = new Reader(data);
  let wallTime = 0;
  let step: number | undefined;
  let fileVersion: string | undefined;
  const scalars: ScalarValue[] = [];
  while (!r.done) {
    const f = r.field();
    if (f.field === 1 && f.wire === 1) wallTime = dv(f.bytes as Uint8Array).getFloat64(0, true);
    else if (f.field === 2 && f.wire === 0) step = Number(BigInt.asIntN(64, f.int as bigint));
    else if (f.field === 3 && f.wire === 2) fileVersion = utf8Decoder.decode(f.bytes);
    else if (f.field === 5 && f.wire === 2) {
      const summary = new Reader(f.bytes as Uint8Array);
      while (!summary.done) {
        const v = summary.field();
        if (v.field !== 1 || v.wire !== 2) continue;
        const value = new Reader(v.bytes as Uint8Array);
        let tag = '';
        let simple = Number.NaN;
        while (!value.done) {
          const g = value.field();
          if (g.field === 1 && g.wire === 2) tag = utf8Decoder.decode(g.bytes);
          else if (g.field === 2 && g.wire === 5) simple = dv(g.bytes as Uint8Array).getFloat32(0, true);
        }
        scalars.push({ tag, value: simple });
      }
    }
  }
  return {
    wallTime,
    ...(step !== undefined ? { step } : {}),
    ...(fileVersion !== undefined ? { fileVersion } : {}),
    ...(scalars.length ? { scalars } : {}),
  };
}

/** Every event of an event file, with both CRCs of every record checked. */
export function readEventFile(path: string): TfEvent[] {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw toFileSystemError(error, path, 'read the event file');
  }
  return decodeRecords(bytes, path).map(decodeEvent);
}

// --- writing --------------------------------------------------------------------------------

export const EVENT_FILE_MARKER = 'tfevents';

/** The TensorBoard file name convention: events.out.tfevents.<seconds>.<host>. */
export function eventFileName(date = new Date()): string {
  return `events.out.${EVENT_FILE_MARKER}.${Math.floor(date.getTime() / 1000)}.${hostname() || 'localhost'}`;
}

/**
 * Appends events to a new event file in `dir`. Each write is one synchronous append of whole
 * records, so a reader (TensorBoard polls the file) never sees a half-written record unless
 * the process dies inside the write, and the next run's reader stops at the cut-short record.
 */
export class EventFileWriter {
  readonly path: string;

  private constructor(path: string) {
    this.path = path;
  }

  /** Creates the file (refusing one that exists) and writes the file_version event. */
  static create(dir: string, date = new Date()): EventFileWriter {
    const path = join(dir, eventFileName(date));
    try {
      closeSync(openSync(path, 'wx'));
    } catch (error) {
      throw toFileSystemError(error, path, 'create the TensorBoard event file');
    }
    const writer = new EventFileWriter(path);
    writer.write([{ wallTime: date.getTime() / 1000, fileVersion: 'brain.Event:2' }]);
    return writer;
  }

  write(events: readonly TfEvent[]): void {
    if (events.length === 0) return;
    try {
      appendFileSync(this.path, concat(events.map((e) => encodeRecord(encodeEvent(e)))));
    } catch (error) {
      throw toFileSystemError(error, this.path, 'append to the TensorBoard event file');
    }
  }

  /** Scalars of one step, at `wallTime` (seconds since the epoch). */
  scalars(step: number, values: readonly ScalarValue[], wallTime = Date.now() / 1000): void {
    const finite = values.filter((v) => Number.isFinite(v.value));
    if (finite.length > 0) this.write([{ wallTime, step, scalars: finite }]);
  }
}
