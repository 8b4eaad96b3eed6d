/**
 * @module dispatch/rate-limit
 * A token bucket per method (`methods.<name>.rate_limit`): at most `burst` sends at once, refilled at
 * `perSecond`. The dispatcher claims no more notifications than there are tokens and comes back when the
 * next one is due: a storm is smoothed and queued in the outbox, never refused nor dead-lettered for it.
 */
export interface RateLimit {
  /** Sends per second (fractions allowed: 120/min is 2, 10/h is 1/360). */
  readonly perSecond: number;
  /** Sends allowed at once after a quiet spell (the bucket's size). */
  readonly burst: number;
}

export class TokenBucket {
  #tokens: number;
  #at: number;

  constructor(
    readonly limit: RateLimit,
    now: number,
  ) {
    this.#tokens = limit.burst;
    this.#at = now;
  }

  #refill(now: number): void {
    if (now > this.#at) this.#tokens = Math.min(this.limit.burst, this.#tokens + ((now - this.#at) / 1000) * this.limit.perSecond);
    this.#at = Math.max(this.#at, now);
  }

  /** Whole tokens available now. */
  available(now: number): number {
    this.#refill(now);
    return Math.floor(this.#tokens + 1e-9);
  }

  take(n: number, now: number): void {
    this.#refill(now);
    this.#tokens -= n;
  }

  /** Milliseconds until one whole token is there (0 when one is). */
  msUntilNext(now: number): number {
    this.#refill(now);
    const missing = 1 - this.#tokens;
    return missing <= 1e-9 ? 0 : Math.ceil((missing / this.limit.perSecond) * 1000);
  }
}

const RATE_RE = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(s|sec|second|m|min|minute|h|hour)\s*$/i;
const PER: Readonly<Record<string, number>> = { s: 1, sec: 1, second: 1, m: 60, min: 60, minute: 60, h: 3600, hour: 3600 };

/** "1/s", "120/min", "10/h" → sends per second; undefined when malformed or not positive. */
export function parseRate(text: string): number | undefined {
  const m = RATE_RE.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n > 0 ? n / PER[m[2]!.toLowerCase()]! : undefined;
}
