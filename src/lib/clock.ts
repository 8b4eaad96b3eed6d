/** Time and randomness are passed in, so tests control them. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Uniform in [0, 1). */
export type Random = () => number;
