/**
 * Sortable unique ids (ULID layout: 48-bit ms time + 80 random bits, Crockford base32), with a prefix.
 * Time and randomness are injected.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export type RandomBytes = (n: number) => Uint8Array;

export function ulid(nowMs: number, randomBytes: RandomBytes): string {
  let time = '';
  let t = Math.floor(nowMs);
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(10);
  let rnd = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      rnd += ALPHABET[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return time + rnd;
}

export interface IdGenerator {
  alarm(): string;
  notification(): string;
}

export function idGenerator(now: () => number, randomBytes: RandomBytes): IdGenerator {
  return {
    alarm: () => 'alm_' + ulid(now(), randomBytes),
    notification: () => 'ntf_' + ulid(now(), randomBytes),
  };
}
