/**
 * What the seeded HTTP fuzz tests share (test/e2e/http-api.test.ts, test/e2e/new-sources-fuzz.test.ts): the
 * seed and body count from the environment, random JSON built from a vocabulary and mutated, requests sent
 * in batches, and invariant violations counted by kind and reported with an example each.
 */
import assert from 'node:assert/strict';

/** FUZZ_SEED (default 1) and FUZZ_COUNT (a fixed number of bodies, not a time budget; default `defaultCount`). */
export function fuzzSettings(defaultCount: number): { seed: number; count: number } {
  const seed = process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED !== '' ? Number(process.env.FUZZ_SEED) >>> 0 : 1;
  const count = process.env.FUZZ_COUNT !== undefined && process.env.FUZZ_COUNT !== '' ? Number(process.env.FUZZ_COUNT) : defaultCount;
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`FUZZ_COUNT must be a positive integer, got ${process.env.FUZZ_COUNT}`);
  return { seed, count };
}

/** What random JSON is made of. */
export interface JsonVocabulary {
  /** Number literals at or past what doubles and 64-bit integers hold. */
  readonly huge: readonly string[];
  /** The characters of random strings. */
  readonly chars: readonly string[];
  /** Object keys (most keys are these, the others random strings). */
  readonly keys: readonly string[];
  /** String values. */
  readonly scalars: readonly string[];
}

/** A rewrite of a JSON text that `mutate` may choose (it may use the generator's randomness). */
export type Edit = (s: string) => string;

/** Random JSON from `rand` and a vocabulary: every choice is drawn from `rand`, so a seed replays it. */
export function jsonFuzz(rand: () => number, vocab: JsonVocabulary) {
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const str = (): string => {
    let s = '';
    const n = int(12);
    for (let i = 0; i < n; i++) s += pick(vocab.chars);
    return s;
  };
  /** A JSON value as text; below depth 3 arrays and objects too. */
  const value = (depth: number): string => {
    switch (int(depth > 3 ? 6 : 9)) {
      case 0: return 'null';
      case 1: return pick(['true', 'false']);
      case 2: return String(int(1000) - 500);
      case 3: return pick(vocab.huge);
      case 4: return JSON.stringify(str());
      case 5: return JSON.stringify(pick(vocab.scalars));
      case 6: return `[${Array.from({ length: int(4) }, () => value(depth + 1)).join(',')}]`;
      default: {
        const keys = new Set(Array.from({ length: int(5) }, () => (rand() < 0.7 ? pick(vocab.keys) : str())));
        return `{${[...keys].map((k) => `${JSON.stringify(k)}:${value(depth + 1)}`).join(',')}}`;
      }
    }
  };
  /**
   * `s` with 1 to 4 random edits, each one of: truncate, delete a few characters, insert JSON punctuation,
   * replace a scalar value with a random one, or one of `more` (each as likely as the others).
   */
  const mutate = (s: string, more: readonly Edit[]): string => {
    let out = s;
    const n = 1 + int(4);
    for (let i = 0; i < n; i++) {
      const at = int(out.length + 1);
      const edit = int(4 + more.length);
      switch (edit) {
        case 0: out = out.slice(0, at); break; // truncate
        case 1: out = out.slice(0, at) + out.slice(at + 1 + int(5)); break; // delete
        case 2: out = out.slice(0, at) + pick(['{', '}', '[', ']', ',', ':', '"', '\\', '0', 'e', '-', ' ', 'null']) + out.slice(at); break;
        case 3: { // replace a scalar value with a random one
          const found = [...out.matchAll(/:(\s*)("(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*|true|false|null)/g)];
          if (found.length > 0) {
            const f = pick(found);
            out = out.slice(0, f.index!) + ':' + value(2) + out.slice(f.index! + f[0].length);
          }
          break;
        }
        default: out = more[edit - 4]!(out);
      }
    }
    return out;
  };
  /** Up to 299 random bytes. */
  const bytes = (): Uint8Array<ArrayBuffer> => {
    const b = new Uint8Array(int(300));
    for (let i = 0; i < b.length; i++) b[i] = int(256);
    return b;
  };
  return { int, pick, str, value, mutate, bytes };
}

/** A request body for a failure message: the text (cut at 200 characters) or how many random bytes. */
export function shownBody(body: string | Uint8Array): string {
  const text = typeof body === 'string' ? body : `<${body.length} random bytes>`;
  return text.length > 200 ? `${text.slice(0, 200)}… (${text.length} chars)` : text;
}

/** A promise's outcome, as Promise.allSettled gives it: never rejects. */
export async function settle<T>(p: Promise<T>): Promise<PromiseSettledResult<T>> {
  const [outcome] = await Promise.allSettled([p]);
  return outcome!;
}

/**
 * `count` requests from `next`, sent 16 at a time (a batch at once, the next once it has answered; a send
 * that rejects rejects this); `check` sees each request with its answer, in order. Resolves with how many
 * were sent.
 */
export async function sendInBatches<Q, R>(count: number, next: () => Q, send: (q: Q) => Promise<R>, check: (q: Q, r: R) => void): Promise<number> {
  const BATCH = 16;
  let sent = 0;
  for (let i = 0; i < count; i += BATCH) {
    const reqs = Array.from({ length: Math.min(BATCH, count - i) }, next);
    const results = await Promise.all(reqs.map((q) => send(q)));
    sent += reqs.length;
    results.forEach((r, j) => check(reqs[j]!, r));
  }
  return sent;
}

/** Invariant violations by kind: how many, and the first one's example. */
export class Violations {
  readonly #byKind = new Map<string, { count: number; example: string }>();

  add(kind: string, example: string): void {
    const v = this.#byKind.get(kind);
    if (v) v.count++;
    else this.#byKind.set(kind, { count: 1, example });
  }

  get size(): number {
    return this.#byKind.size;
  }

  /** Fails, listing every kind with its count and example, unless there are none. */
  assertNone(seed: number): void {
    assert.equal(
      this.#byKind.size,
      0,
      `invariant violations (seed ${seed}):\n${[...this.#byKind].map(([k, v]) => `  ${k} ×${v.count}, e.g. ${v.example}`).join('\n')}`,
    );
  }
}

/**
 * Every accepted alarm can be read back: GET /v1/alarms/<id> answers 200 for each id, anything else is a
 * violation (with `detail()` after the answer, when given).
 */
export async function checkReadBack(
  get: (path: string) => Promise<{ readonly status: number; readonly text: string }>,
  ids: Iterable<string>,
  violations: Violations,
  detail?: () => string,
): Promise<void> {
  for (const id of new Set(ids)) {
    const r = await get(`/v1/alarms/${id}`);
    if (r.status !== 200) violations.add(`accepted alarm unreadable (GET ${r.status})`, `${id}: ${r.text.slice(0, 200)}${detail ? ` ${detail()}` : ''}`);
  }
}

/** Takes the names of Object.prototype's properties now; the function it returns asserts they are unchanged. */
export function watchObjectPrototype(): () => void {
  const protoKeys = Object.getOwnPropertyNames(Object.prototype).sort();
  return () => assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), protoKeys, 'Object.prototype unchanged');
}
