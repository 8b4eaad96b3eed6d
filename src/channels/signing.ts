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
