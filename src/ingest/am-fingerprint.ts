/**
 * @module ingest/am-fingerprint
 * The fingerprint Prometheus and Alertmanager give a label set (prometheus/common `model.LabelSet.Fingerprint()`,
 * model/signature.go `labelSetToFingerprint`): FNV-1a 64 over the label names and values, names sorted
 * (Go string order: by UTF-8 bytes), each name and each value followed by the separator byte 0xff; written
 * as 16 lowercase hex digits. The empty label set is the FNV offset basis, `cbf29ce484222325`.
 * Pure: 32-bit halves, no BigInt, no runtime crypto (runs the same on Node, Bun and Deno).
 */

const SEPARATOR = 0xff;
/** FNV-1a 64 offset basis 0xcbf29ce484222325, as two 32-bit halves. */
const OFFSET_HI = 0xcbf29ce4;
const OFFSET_LO = 0x84222325;
/** FNV 64 prime is 2^40 + 0x1b3. */
const PRIME_LOW = 0x1b3;
const TWO_32 = 0x1_0000_0000;

const encoder = new TextEncoder();

/** Go's string order: bytewise over UTF-8 (differs from JS's UTF-16 order only beyond the BMP). */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The fingerprint of a label set, as Alertmanager shows it (`8c77d5865e910658`). */
export function labelSetFingerprint(labels: Readonly<Record<string, string>>): string {
  const names = Object.keys(labels).map((name) => ({ name, bytes: encoder.encode(name) }));
  names.sort((x, y) => compareBytes(x.bytes, y.bytes));
  let hi = OFFSET_HI;
  let lo = OFFSET_LO;
  const add = (b: number) => {
    lo = (lo ^ b) >>> 0;
    // (hi·2^32 + lo) · (2^40 + 0x1b3) mod 2^64: every partial product stays below 2^53.
    const low = lo * PRIME_LOW;
    const carry = Math.floor(low / TWO_32);
    hi = (hi * PRIME_LOW + carry + ((lo << 8) >>> 0)) >>> 0;
    lo = low >>> 0;
  };
  for (const { name, bytes } of names) {
    for (const b of bytes) add(b);
    add(SEPARATOR);
    for (const b of encoder.encode(labels[name]!)) add(b);
    add(SEPARATOR);
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
