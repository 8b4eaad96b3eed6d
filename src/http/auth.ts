/**
 * @module http/auth
 * Bearer-token authentication of sources. Tokens are compared by their SHA-256, never logged.
 */
import type { SourceConfig } from '../config/types.ts';
import { sha256Hex } from '../lib/hash.ts';

/** `internal`: the relay's own credential (the heartbeat canary), which no config or API reveals. */
export type AuthResult =
  | { readonly ok: true; readonly source: string | undefined; readonly internal?: true }
  | { readonly ok: false; readonly message: string };

/** The source of what the relay's own credential posts. */
export const INTERNAL_SOURCE = 'canary';

/**
 * With no sources configured, every request is allowed (source undefined). `sources` is read per request
 * (a config reload swaps it); the token digests are recomputed only when it changes. `internalToken`:
 * the relay's own credential, accepted whatever the sources (source INTERNAL_SOURCE, `internal`).
 */
export function createAuthenticator(sources: () => readonly SourceConfig[], internalToken?: string): (authorization: string | undefined) => AuthResult {
  const internalDigest = internalToken === undefined ? undefined : sha256Hex(internalToken);
  let seen: readonly SourceConfig[] | undefined;
  let byDigest = new Map<string, string>();
  return (authorization) => {
    if (internalDigest !== undefined && authorization !== undefined) {
      const t = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
      if (t !== undefined && sha256Hex(t) === internalDigest) return { ok: true, source: INTERNAL_SOURCE, internal: true };
    }
    const now = sources();
    if (now !== seen) {
      byDigest = new Map(now.map((s) => [sha256Hex(s.token.reveal()), s.name]));
      seen = now;
    }
    if (byDigest.size === 0) return { ok: true, source: undefined };
    if (!authorization) return { ok: false, message: 'missing Authorization: Bearer <token>' };
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) return { ok: false, message: 'Authorization must be "Bearer <token>"' };
    const source = byDigest.get(sha256Hex(m[1]!));
    return source === undefined ? { ok: false, message: 'unknown token' } : { ok: true, source };
  };
}
