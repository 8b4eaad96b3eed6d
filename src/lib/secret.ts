/**
 * A secret value that never prints itself: toString, toJSON and util.inspect all give "<secret>".
 * Read it only where it is used, with `reveal()`.
 */
const REDACTED = '<secret>';

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return REDACTED;
  }
}

/**
 * Replace every occurrence of each secret's value in a text (for error bodies echoed by peers).
 * `truncated`: the text was cut off (a body excerpt), so a secret may sit at its end only in part: a
 * tail that begins a secret (4 characters or more) is redacted too.
 */
export function redact(text: string, secrets: readonly (Secret | undefined)[], opts: { truncated?: boolean } = {}): string {
  let out = text;
  for (const s of secrets) {
    const v = s?.reveal();
    if (v && v.length >= 4) out = out.split(v).join(REDACTED);
  }
  if (!opts.truncated) return out;
  for (const s of secrets) {
    const v = s?.reveal() ?? '';
    for (let k = Math.min(v.length - 1, out.length); k >= 4; k--) {
      if (out.endsWith(v.slice(0, k))) {
        out = out.slice(0, out.length - k) + REDACTED;
        break;
      }
    }
  }
  return out;
}

/** Every Secret inside a value (plain objects and arrays, walked to a bounded depth). */
export function secretsIn(value: unknown, depth = 0): Secret[] {
  if (value instanceof Secret) return [value];
  if (value === null || typeof value !== 'object' || depth > 8) return [];
  return Object.values(value).flatMap((v) => secretsIn(v, depth + 1));
}
