/**
 * A secret value that never prints itself: toString, toJSON and util.inspect all give "<secret>".
 * Read it only where it is used, with `reveal()`.
 */
const REDACTED = '<secret>';

/** Shorter values are never redacted: they would blank out ordinary text. */
const MIN_REDACTED = 4;

export class Secret {
  readonly #value: string;
  readonly #related: readonly string[];
  /**
   * `related`: values made from this one that are as secret and are redacted with it, e.g.
   * "user:password" for a Basic auth password (and so, through `encodedForms`, the header's base64).
   */
  constructor(value: string, related: readonly string[] = []) {
    this.#value = value;
    this.#related = related;
  }
  reveal(): string {
    return this.#value;
  }
  /** The value and its related values: what `redact` looks for (in each of their encoded forms). */
  revealAll(): readonly string[] {
    return [this.#value, ...this.#related];
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
 * The forms a value takes when a peer echoes it: as is, base64 of its UTF-8 (standard and url-safe,
 * with and without padding: an echoed `Authorization: Basic` header, a JWT part) and percent-encoded.
 */
export function encodedForms(value: string): string[] {
  const b64 = Buffer.from(value, 'utf8').toString('base64');
  const bare = b64.replace(/=+$/, '');
  const urlSafe = bare.replace(/\+/g, '-').replace(/\//g, '_');
  const forms = [value, b64, bare, urlSafe + b64.slice(bare.length), urlSafe];
  try {
    forms.push(encodeURIComponent(value));
  } catch {
    /* a lone surrogate has no percent-encoding */
  }
  // As it appears inside a JSON string (an error body that echoes it): quotes, backslashes escaped.
  forms.push(JSON.stringify(value).slice(1, -1));
  return [...new Set(forms)];
}

/** Every text to redact for these secrets, longest first (a secret inside a longer one goes with it). */
function redactable(secrets: readonly (Secret | undefined)[]): string[] {
  const out = new Set<string>();
  for (const s of secrets) {
    for (const v of s?.revealAll() ?? []) if (v.length >= MIN_REDACTED) for (const f of encodedForms(v)) out.add(f);
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/**
 * Replace every occurrence of each secret (its value and related values, in every form of
 * `encodedForms`) in a text (for error bodies echoed by peers). Values under 4 characters are left alone.
 * `truncated`: the text was cut off (a body excerpt), so a secret may sit at its end only in part: a
 * tail that begins one of those forms (4 characters or more) is redacted too.
 */
export function redact(text: string, secrets: readonly (Secret | undefined)[], opts: { truncated?: boolean } = {}): string {
  const forms = redactable(secrets);
  let out = text;
  for (const f of forms) out = out.split(f).join(REDACTED);
  if (!opts.truncated) return out;
  for (const f of forms) {
    for (let k = Math.min(f.length - 1, out.length); k >= MIN_REDACTED; k--) {
      if (out.endsWith(f.slice(0, k))) {
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
