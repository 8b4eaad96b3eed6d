/**
 * @module channels/settings
 * Building blocks for channel descriptors' settings: checks for secret values and zod fields that
 * several channels share.
 */
import * as z from 'zod';

/** Secret check: an http(s) URL. */
export function checkHttpUrl(v: string): string | undefined {
  try {
    const u = new URL(v);
    if (u.protocol === 'http:' || u.protocol === 'https:') return undefined;
  } catch {
    // fall through
  }
  return 'must be an http(s) URL';
}

const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Extra request headers: valid names, values without line breaks. `headers:` written empty means none.
 * zod would drop a `__proto__` key without a word: it is refused instead.
 */
export const headersField = z.preprocess(
  (v, ctx) => {
    if (v !== null && typeof v === 'object' && Object.hasOwn(v, '__proto__')) {
      ctx.addIssue({ code: 'custom', message: 'is a reserved name and cannot be a header', path: ['__proto__'], input: v });
    }
    return v === null ? undefined : v;
  },
  z
    .record(
      z.string().regex(HEADER_NAME_RE, { error: 'invalid header name' }),
      z.string().regex(/^[^\r\n\0]*$/, { error: 'must not contain line breaks' }),
    )
    .optional(),
);
