/**
 * @module http/auth
 * Bearer-token authentication of sources. Tokens are compared by their SHA-256, never logged.
 */
import type { SourceConfig } from '../config/types.ts';
import { sha256Hex } from '../lib/hash.ts';

export type AuthResult = { readonly ok: true; readonly source: string | undefined } | { readonly ok: false; readonly message: string };

/** With no sources configured, every request is allowed (source undefined). */
export function createAuthenticator(sources: readonly SourceConfig[]): (authorization: string | undefined) => AuthResult {
  const byDigest = new Map(sources.map((s) => [sha256Hex(s.token.reveal()), s.name]));
  return (authorization) => {
    if (byDigest.size === 0) return { ok: true, source: undefined };
    if (!authorization) return { ok: false, message: 'missing Authorization: Bearer <token>' };
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) return { ok: false, message: 'Authorization must be "Bearer <token>"' };
    const source = byDigest.get(sha256Hex(m[1]!));
    return source === undefined ? { ok: false, message: 'unknown token' } : { ok: true, source };
  };
}
