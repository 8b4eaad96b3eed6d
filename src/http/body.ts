/**
 * @module http/body
 * Reads a request body as text within a byte limit. A Content-Length over the limit is refused before
 * reading; a body without one (chunked) is read as a stream and cut off at the limit. A read that fails,
 * or a stream that ends with the client gone, is the client's doing (it hung up, or the connection broke,
 * mid-body): ClientAborted.
 */
import type { Context } from 'hono';

export class BodyTooLarge extends Error {}

/**
 * The body could not be read to its end: the client closed the connection (or it broke) before sending
 * it all. Each runtime says so in its own words ("aborted" on Node, "The connection was closed." on Bun,
 * "Cannot read body as underlying resource unavailable" on Deno); the message keeps them.
 */
export class ClientAborted extends Error {}

const decoder = new TextDecoder();

export async function readBodyText(c: Context, maxBytes: number): Promise<string> {
  const declared = c.req.header('content-length');
  if (declared !== undefined) {
    if (Number(declared) > maxBytes) throw new BodyTooLarge();
    return fromClient(c.req.text()); // the runtime enforces Content-Length
  }
  const stream = c.req.raw.body;
  if (!stream) return '';
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await fromClient(reader.read());
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  // Node (@hono/node-server) ends the stream of a request whose client is already gone as if it were
  // complete: its IncomingMessage says whether the body really ended. (Not the request's abort signal:
  // that is also set when a client sent the whole body and then closed. Bun and Deno fail the read instead.)
  const incoming = (c.env as { incoming?: { complete?: unknown } } | undefined)?.incoming;
  if (incoming?.complete === false) throw new ClientAborted('the client closed the connection before the end of the body');
  const all = new Uint8Array(size);
  let at = 0;
  for (const ch of chunks) {
    all.set(ch, at);
    at += ch.byteLength;
  }
  return decoder.decode(all);
}

/** A read from the client's connection: its failure is a ClientAborted. */
async function fromClient<T>(read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (e) {
    throw new ClientAborted(e instanceof Error ? e.message : String(e), { cause: e });
  }
}
