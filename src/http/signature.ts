/**
 * @module http/signature
 * Signed ingest: Standard Webhooks signatures (https://www.standardwebhooks.com) over the raw body, an
 * alternative to a bearer token per source (`sources.<name>.signing_secret`, and
 * `previous_signing_secret` while rotating). The timestamp must be within ±5 minutes; the header may
 * carry several signatures ("v1,<base64> v1,<base64>"); each is compared in constant time with the one
 * each secret makes. The request's `webhook-id` then stands for it: a replay is a repeat (see
 * ingest-routes).
 */
import { Buffer } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';
import { signStandardWebhook } from '../channels/signing.ts';
import type { SourceConfig } from '../config/types.ts';

export const SIGNATURE_TOLERANCE_SEC = 5 * 60;

export interface SignedRequest {
  readonly id: string | undefined;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  readonly body: string;
}

export type SignatureResult = { readonly ok: true; readonly source: string; readonly id: string } | { readonly ok: false; readonly message: string };

/** Which source signed the request (the first whose secret makes one of its signatures), or why none. */
export function verifySignature(req: SignedRequest, sources: readonly SourceConfig[], nowMs: number): SignatureResult {
  const { id, timestamp, signature } = req;
  if (!id || !timestamp || !signature) return { ok: false, message: 'a signed request needs the webhook-id, webhook-timestamp and webhook-signature headers' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, message: 'webhook-timestamp must be the time in whole seconds since the epoch' };
  if (Math.abs(Number(timestamp) - nowMs / 1000) > SIGNATURE_TOLERANCE_SEC) {
    return { ok: false, message: 'webhook-timestamp is more than 5 minutes away from this relay\'s clock' };
  }
  const given = signature
    .split(' ')
    .map((s) => /^v1,([A-Za-z0-9+/]+={0,2})$/.exec(s)?.[1])
    .filter((s): s is string => s !== undefined)
    .map((s) => Buffer.from(s, 'base64'));
  if (given.length === 0) return { ok: false, message: 'webhook-signature has no "v1,<base64>" signature' };
  for (const source of sources) {
    for (const secret of source.signingSecrets) {
      const expected = Buffer.from(signStandardWebhook(secret.reveal(), id, timestamp, req.body).slice(3), 'base64');
      // Every signature is compared (no early exit on a length or content difference of one of them).
      let match = false;
      for (const g of given) match = (g.length === expected.length && timingSafeEqual(g, expected)) || match;
      if (match) return { ok: true, source: source.name, id };
    }
  }
  return { ok: false, message: 'no signature matches a signing secret of any source' };
}
