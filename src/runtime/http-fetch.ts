/**
 * @module runtime/http-fetch
 * Outbound HTTP through the runtime's own fetch (Bun and Deno keep connections alive per origin).
 * Redirects are not followed, as with undici on Node: a webhook that redirects is misconfigured.
 */
import type { HttpClient } from '../channels/types.ts';
import type { OutboundHttp } from './platform.ts';

const EXCERPT = 1024;
const DRAIN_LIMIT = 256 * 1024;

/**
 * Deno's fetch quotes the request URL in its errors (in `cause`: "error sending request for url (…)"),
 * and a webhook URL can carry a token: the error chain is copied with URLs cut out of every message,
 * keeping each error's name and code (what the status classifier looks at).
 */
function withoutUrls(e: unknown, depth = 0): unknown {
  if (e === null || typeof e !== 'object' || depth > 8) return e;
  const o = e as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown };
  const message = typeof o.message === 'string' ? o.message : '';
  const clean = new Error(message.replace(/ ?for url \([^)]*\)/gi, '').replace(/https?:\/\/[^\s)'"]*/gi, '<url>'));
  if (typeof o.name === 'string') clean.name = o.name;
  if (typeof o.code === 'string') (clean as { code?: string }).code = o.code;
  if (o.cause !== undefined) clean.cause = withoutUrls(o.cause, depth + 1);
  return clean;
}

export function createFetchClient(fetchImpl: typeof fetch = fetch): OutboundHttp {
  const decoder = new TextDecoder();
  const client: HttpClient = async (req, signal) => {
    let res: Response;
    try {
      res = await fetchImpl(req.url, { method: req.method, headers: req.headers, body: req.body, signal, redirect: 'manual' });
    } catch (e) {
      throw withoutUrls(e);
    }
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
