/**
 * @module lib/thread-data
 * Plain data that crosses to another thread (structured clone) with its Secret values intact: a
 * structured clone keeps no class, so a Secret travels as a tagged object and is rebuilt on arrival.
 * Anything else that is not plain data (a function, a class instance) is refused by name, at startup,
 * rather than arriving broken.
 */
import { deepFreeze } from './freeze.ts';
import { Secret } from './secret.ts';

const TAG = '\u0000tocsin:secret';

export type Sealed = { readonly __sealed: never };

/** The value with every Secret replaced by a tagged plain object; throws on what cannot be cloned faithfully. */
export function sealForThread(value: unknown, path = 'value'): Sealed {
  const walk = (v: unknown, at: string): unknown => {
    if (v instanceof Secret) return { [TAG]: v.revealAll() };
    if (v === null || typeof v !== 'object') {
      if (typeof v === 'function' || typeof v === 'symbol') throw new Error(`${at} is a ${typeof v}: it cannot be sent to another thread`);
      return v;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${at}[${i}]`));
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      throw new Error(`${at} is a ${(v as object).constructor?.name ?? 'class instance'}: it cannot be sent to another thread`);
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x, `${at}.${k}`);
    return out;
  };
  return walk(value, path) as Sealed;
}

/** The value sealForThread sealed, its Secrets rebuilt, deeply frozen. */
export function unsealFromThread<T>(sealed: Sealed): T {
  const walk = (v: unknown): unknown => {
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map(walk);
    const rec = v as Record<string, unknown>;
    const tagged = rec[TAG];
    if (Array.isArray(tagged) && Object.keys(rec).length === 1) return new Secret(String(tagged[0]), tagged.slice(1).map(String));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(rec)) out[k] = walk(x);
    return out;
  };
  return deepFreeze(walk(sealed)) as T;
}
