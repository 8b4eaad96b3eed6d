/**
 * @module runtime/http-fetch
 * Outbound HTTP through the runtime's own fetch (Bun and Deno keep connections alive per origin).
 * Redirects are not followed, as with undici on Node: a webhook that redirects is misconfigured.
 */
import type { HttpClient } from '../channels/types.ts';
import type { OutboundHttp } from './platform.ts';

const EXCERPT = 1024;
const DRAIN_LIMIT = 256 * 1024;

export function createFetchClient(fetchImpl: typeof fetch = fetch): OutboundHttp {
  const decoder = new TextDecoder();
  const client: HttpClient = async (req, signal) => {
    const res = await fetchImpl(req.url, { method: req.method, headers: req.headers, body: req.body, signal, redirect: 'manual' });
    // Keep the first KiB; read (a bounded amount of) the rest so the connection can be reused.
    let text = '';
    let seen = 0;
    if (res.body) {
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (text.length < EXCERPT) text += decoder.decode(value.subarray(0, EXCERPT));
        seen += value.byteLength;
        if (seen > DRAIN_LIMIT) {
          await reader.cancel();
          break;
        }
      }
    }
    return {
      status: res.status,
      header: (name) => res.headers.get(name) ?? undefined,
      bodyExcerpt: text.slice(0, EXCERPT),
    };
  };
  return { client, close: async () => {} };
}
