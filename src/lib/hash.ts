import { createHash } from 'node:crypto';

/** SHA-256 as hex (node:crypto is available on Node, Bun and Deno). */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
