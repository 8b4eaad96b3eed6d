/**
 * @module runtime/http-undici
 * Outbound HTTP on Node through an undici Agent (keep-alive connection pools per origin);
 * Node 20's global fetch is several times slower for small POSTs.
 */
import { Agent } from 'undici';
import type { HttpClient } from '../channels/types.ts';

const EXCERPT = 1024;
const DRAIN_LIMIT = 256 * 1024;

export function createUndiciClient(opts: { connectionsPerOrigin?: number } = {}): { client: HttpClient; close(): Promise<void> } {
  const agent = new Agent({ connections: opts.connectionsPerOrigin ?? 64, keepAliveTimeout: 10_000, connect: { timeout: 10_000 } });
  const client: HttpClient = async (req, signal) => {
    const url = new URL(req.url);
    const res = await agent.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: req.method,
      headers: req.headers as Record<string, string>,
      body: req.body,
      signal,
    });
    // Keep the first KiB; read (a bounded amount of) the rest so the connection can be reused.
    let text = '';
    let seen = 0;
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      if (text.length < EXCERPT) text += buf.toString('utf8', 0, Math.min(buf.length, EXCERPT));
      seen += buf.length;
      if (seen > DRAIN_LIMIT) {
        res.body.destroy();
        break;
      }
    }
    const headers = res.headers;
    return {
      status: res.statusCode,
      header: (name) => {
        const v = headers[name.toLowerCase()];
        return Array.isArray(v) ? v[0] : v;
      },
      bodyExcerpt: text.slice(0, EXCERPT),
    };
  };
  return { client, close: () => agent.close() };
}
