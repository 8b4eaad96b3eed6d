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

/** Replace every occurrence of each secret's value in a text (for error bodies echoed by peers). */
export function redact(text: string, secrets: readonly (Secret | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    const v = s?.reveal();
    if (v && v.length >= 4) out = out.split(v).join(REDACTED);
  }
  return out;
}
