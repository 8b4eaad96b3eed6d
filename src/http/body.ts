/**
 * @module http/body
 * Reads a request body as text within a byte limit. A Content-Length over the limit is refused before
 * reading; a body without one (chunked) is read as a stream and cut off at the limit.
 */
import type { Context } from 'hono';

export class BodyTooLarge extends Error {}

const decoder = new TextDecoder();

export async function readBodyText(c: Context, maxBytes: number): Promise<string> {
  const declared = c.req.header('content-length');
  if (declared !== undefined) {
    if (Number(declared) > maxBytes) throw new BodyTooLarge();
    return c.req.text(); // the runtime enforces Content-Length
  }
  const stream = c.req.raw.body;
  if (!stream) return '';
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const ch of chunks) {
    all.set(ch, at);
    at += ch.byteLength;
  }
  return decoder.decode(all);
}
