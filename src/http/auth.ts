/**
 * @module http/auth
 * Bearer-token authentication of sources. Tokens are compared by their SHA-256, never logged.
 */
import type { SourceConfig } from '../config/types.ts';
import { sha256Hex } from '../lib/hash.ts';

export type AuthResult = { readonly ok: true; readonly source: string | undefined } | { readonly ok: false; readonly message: string };

/**
 * With no sources configured, every request is allowed (source undefined). `sources` is read per request
 * (a config reload swaps it); the token digests are recomputed only when it changes.
 */
export function createAuthenticator(sources: () => readonly SourceConfig[]): (authorization: string | undefined) => AuthResult {
  let seen: readonly SourceConfig[] | undefined;
  let byDigest = new Map<string, string>();
  return (authorization) => {
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
