/**
 * @module http/admin-auth
 * Bearer-token authentication of the admin API (`admin.tokens`, separate from the sources' tokens).
 * Tokens are compared by their SHA-256 in constant time, every configured token each time, and never
 * logged. 401: no or unknown credentials; 403: a source's token (it authenticates, but only for ingest)
 * or no admin token configured at all.
 */
import { Buffer } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';
import type { Secret } from '../lib/secret.ts';
import { sha256Hex } from '../lib/hash.ts';

export type AdminAuthResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 401 | 403; readonly message: string };

export function createAdminAuthenticator(
  tokens: () => readonly Secret[],
  isSourceToken: (authorization: string) => boolean,
): (authorization: string | undefined) => AdminAuthResult {
  let seen: readonly Secret[] | undefined;
  let digests: Buffer[] = [];
  return (authorization) => {
    const now = tokens();
    if (now !== seen) {
      digests = now.map((t) => Buffer.from(sha256Hex(t.reveal()), 'hex'));
      seen = now;
    }
    if (digests.length === 0) return { ok: false, status: 403, message: 'the admin API is off: configure admin.tokens (or admin.tokens_file) to use it' };
    if (!authorization) return { ok: false, status: 401, message: 'missing Authorization: Bearer <admin token>' };
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) return { ok: false, status: 401, message: 'Authorization must be "Bearer <admin token>"' };
    const given = Buffer.from(sha256Hex(m[1]!), 'hex');
    let match = false;
    for (const d of digests) match = timingSafeEqual(d, given) || match;
    if (match) return { ok: true };
    if (isSourceToken(authorization)) return { ok: false, status: 403, message: 'this is a source token; the admin API needs one of admin.tokens' };
    return { ok: false, status: 401, message: 'unknown admin token' };
  };
}
