/**
 * @module http/auth
 * Authentication of sources: a bearer token, or basic auth (what Prometheus and Alertmanager can send).
 * Credentials are compared by their SHA-256, never logged. Signed requests (Standard Webhooks) are
 * checked with the body: see http/signature.
 */
import { Buffer } from 'node:buffer';
import type { SourceConfig } from '../config/types.ts';
import { sha256Hex } from '../lib/hash.ts';

/** `internal`: the relay's own credential (the heartbeat canary), which no config or API reveals. */
export type AuthResult =
  | { readonly ok: true; readonly source: string | undefined; readonly internal?: true }
  | { readonly ok: false; readonly message: string };

/** The source of what the relay's own credential posts. */
export const INTERNAL_SOURCE = 'canary';

/** Basic auth's user name and password, kept apart (a ":" in a password stays in it). */
const basicKey = (username: string, password: string) => sha256Hex(`${username.length}:${username}:${password}`);

/**
 * With no sources configured, every request is allowed (source undefined). `sources` is read per request
 * (a config reload swaps it); the digests are recomputed only when it changes. `internalToken`: the
 * relay's own credential, accepted whatever the sources (source INTERNAL_SOURCE, `internal`).
 */
export function createAuthenticator(sources: () => readonly SourceConfig[], internalToken?: string): (authorization: string | undefined) => AuthResult {
  const internalDigest = internalToken === undefined ? undefined : sha256Hex(internalToken);
  let seen: readonly SourceConfig[] | undefined;
  let byDigest = new Map<string, string>();
  let byBasic = new Map<string, string>();
  return (authorization) => {
    const bearer = authorization === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
    if (internalDigest !== undefined && bearer !== undefined && sha256Hex(bearer) === internalDigest) {
      return { ok: true, source: INTERNAL_SOURCE, internal: true };
    }
    const now = sources();
    if (now !== seen) {
      byDigest = new Map(now.flatMap((s) => (s.token ? [[sha256Hex(s.token.reveal()), s.name] as const] : [])));
      byBasic = new Map(now.flatMap((s) => (s.basicAuth ? [[basicKey(s.basicAuth.username, s.basicAuth.password.reveal()), s.name] as const] : [])));
      seen = now;
    }
    if (now.length === 0) return { ok: true, source: undefined };
    if (!authorization) return { ok: false, message: 'missing Authorization: Bearer <token>' };
    if (bearer !== undefined) {
      const source = byDigest.get(sha256Hex(bearer));
      return source === undefined ? { ok: false, message: 'unknown token' } : { ok: true, source };
    }
    const basic = /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(authorization)?.[1];
    if (basic !== undefined && byBasic.size > 0) {
      const text = Buffer.from(basic, 'base64').toString('utf8');
      const colon = text.indexOf(':');
      const source = colon < 0 ? undefined : byBasic.get(basicKey(text.slice(0, colon), text.slice(colon + 1)));
      return source === undefined ? { ok: false, message: 'unknown user name or password' } : { ok: true, source };
    }
    return { ok: false, message: byBasic.size > 0 ? 'Authorization must be "Bearer <token>" or "Basic <credentials>"' : 'Authorization must be "Bearer <token>"' };
  };
}
