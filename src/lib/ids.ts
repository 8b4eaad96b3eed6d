/**
 * Sortable unique ids (ULID layout: 48-bit ms time + 80 random bits, Crockford base32), with a prefix.
 * Time and randomness are injected.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export type RandomBytes = (n: number) => Uint8Array;

/** The 10 characters of the time part. */
function encodeTime(nowMs: number): string {
  let time = '';
  let t = Math.floor(nowMs);
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  return time;
}

const CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0));

/** The 16 characters of the random part: each 5 bytes (40 bits) make 8 characters of 5 bits. */
function encodeRandom(b: Uint8Array): string {
  const c = CODES;
  const five = (o: number) =>
    String.fromCharCode(
      c[b[o]! >> 3]!, c[((b[o]! & 7) << 2) | (b[o + 1]! >> 6)]!, c[(b[o + 1]! >> 1) & 31]!, c[((b[o + 1]! & 1) << 4) | (b[o + 2]! >> 4)]!,
      c[((b[o + 2]! & 15) << 1) | (b[o + 3]! >> 7)]!, c[(b[o + 3]! >> 2) & 31]!, c[((b[o + 3]! & 3) << 3) | (b[o + 4]! >> 5)]!, c[b[o + 4]! & 31]!,
    );
  return five(0) + five(5);
}

export function ulid(nowMs: number, randomBytes: RandomBytes): string {
  return encodeTime(nowMs) + encodeRandom(randomBytes(10));
}

export interface IdGenerator {
  alarm(): string;
  notification(): string;
}

export function idGenerator(now: () => number, randomBytes: RandomBytes): IdGenerator {
  // Thousands of ids share a millisecond under load: its time part is encoded once.
  let lastMs = NaN;
  let lastTime = '';
  const next = () => {
    const ms = Math.floor(now());
    if (ms !== lastMs) {
      lastMs = ms;
      lastTime = encodeTime(ms);
    }
    return lastTime + encodeRandom(randomBytes(10));
  };
  return {
    alarm: () => 'alm_' + next(),
    notification: () => 'ntf_' + next(),
  };
}
