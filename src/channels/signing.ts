/**
 * @module channels/signing
 * Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over "id.timestamp.body".
 */
import { createHmac } from 'node:crypto';

const PREFIX = 'whsec_';

/** `secret` is "whsec_<base64>"; the HMAC key is the base64-decoded part. Returns "v1,<base64 signature>". */
export function signStandardWebhook(secret: string, id: string, timestampSec: number | string, body: string): string {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestampSec}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** Secret check for a signing secret: "whsec_" followed by base64 of at least one byte. */
export function checkSigningSecret(v: string): string | undefined {
  const b64 = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(v)?.[1];
  const bytes = b64 ? Buffer.from(b64, 'base64') : undefined;
  const ok = bytes && bytes.length > 0 && bytes.toString('base64').replace(/=+$/, '') === b64!.replace(/=+$/, '');
  return ok ? undefined : 'must be "whsec_" followed by base64';
}
