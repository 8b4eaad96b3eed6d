/**
 * The shared test kit for HTTP channels (webhook today; Slack, PagerDuty, ... to come):
 *
 * - a strict fake receiver: an `HttpClient` that records every request and answers from a script, and
 *   reports any request beyond the script (or any scripted answer left unused) from `assertDone()`;
 * - the status → outcome table every HTTP channel must satisfy, as data (`HTTP_STATUS_TABLE`) plus a
 *   runner (`checkStatusTable`) that accepts a channel's own extra rows;
 * - `assertNoSecretLeak`, whose failure names the place and the secret without printing the secret.
 */
import assert from 'node:assert/strict';
import type { Channel, HttpClient, HttpRequest, HttpResponse } from '../../src/channels/types.ts';
import type { Delivery, SendResult } from '../../src/domain/notification.ts';

// ---- fake receiver ------------------------------------------------------------------------------

/** A scripted HTTP answer. Header names are matched case-insensitively. */
export interface FakeResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** A scripted network failure: the client rejects with `throws` (e.g. `networkError('ECONNREFUSED')`). */
export interface FakeFailure {
  readonly throws: unknown;
}

/** One step of a receiver's script: an answer, or a function of the request giving one (to echo it). */
export type ScriptStep = FakeResponse | FakeFailure | ((req: HttpRequest) => FakeResponse | FakeFailure);

/** A request as the fake receiver got it (headers copied). */
export interface RecordedRequest {
  readonly url: string;
  readonly method: HttpRequest['method'];
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A strict fake receiver: see `fakeReceiver`. */
export interface FakeReceiver {
  /** The `HttpClient` to hand to the channel. */
  readonly client: HttpClient;
  /** Every request received, in order (unexpected ones included). */
  readonly requests: readonly RecordedRequest[];
  /** Throws unless every scripted step was used and no request came beyond the script. */
  assertDone(): void;
}

/** An `HttpResponse` (headers case-insensitive; the body is cut to the first 1 KiB like a real client's). */
export function httpResponse(status: number, headers: Readonly<Record<string, string>> = {}, body = ''): HttpResponse {
  const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { status, header: (name) => lower.get(name.toLowerCase()), bodyExcerpt: body.slice(0, 1024) };
}

/** A network error as Node reports one: `Error(message)` with `code` (message defaults to `connect <code>`). */
export function networkError(code: string, message = `connect ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * A fake `HttpClient` answering request n with `script[n]`. Strict: a request beyond the script is
 * rejected and recorded as a failure that `assertDone()` throws (the channel itself would only turn the
 * rejection into a retry result, hiding it), as does a scripted step no request used.
 */
export function fakeReceiver(script: readonly ScriptStep[]): FakeReceiver {
  const requests: RecordedRequest[] = [];
  const unexpected: string[] = [];
  const client: HttpClient = async (req) => {
    requests.push({ url: req.url, method: req.method, headers: { ...req.headers }, body: req.body });
    const step = script[requests.length - 1];
    if (step === undefined) {
      unexpected.push(`request #${requests.length} (${req.method}) beyond a script of ${script.length}`);
      throw new Error(`fake receiver: unexpected request #${requests.length}`);
    }
    const answer = typeof step === 'function' ? step(req) : step;
    if ('throws' in answer) throw answer.throws;
    return httpResponse(answer.status, answer.headers, answer.body);
  };
  return {
    client,
    requests,
    assertDone() {
      if (unexpected.length > 0) assert.fail(`fake receiver got unexpected requests: ${unexpected.join('; ')}`);
      if (requests.length < script.length) assert.fail(`fake receiver got ${requests.length} of ${script.length} scripted requests`);
    },
  };
}

// ---- status → outcome table ---------------------------------------------------------------------

/** One row of the status table: what the receiver does and what the channel must report. */
export interface StatusRow {
  /** Names the row in failure messages. */
  readonly name: string;
  readonly answer: FakeResponse | FakeFailure;
  readonly outcome: SendResult['outcome'];
  /** Expected `SendResult.status`; defaults to the answer's status (none for a network failure). */
  readonly status?: number;
  /** Expected `retryAfterMs`; when not given, the result must carry none. */
  readonly retryAfterMs?: number;
}

const ERROR_BODY = 'receiver says no';
const answered = (status: number, outcome: SendResult['outcome']): StatusRow => ({
  name: `HTTP ${status}`,
  answer: { status, body: outcome === 'sent' ? '' : ERROR_BODY },
  outcome,
});

/**
 * The contract every HTTP channel satisfies (src/channels/http.ts): 2xx sent; 408, 425, 429 and 5xx
 * retry, with Retry-After reported as asked; other 4xx permanent (Retry-After ignored); network errors retry.
 */
export const HTTP_STATUS_TABLE: readonly StatusRow[] = [
  ...[200, 201, 204].map((s) => answered(s, 'sent')),
  ...[408, 425, 429, 500, 502, 503, 504].map((s) => answered(s, 'retry')),
  ...[400, 401, 403, 404, 410, 413, 422].map((s) => answered(s, 'permanent')),
  { name: 'HTTP 503 Retry-After: 7', answer: { status: 503, headers: { 'Retry-After': '7' }, body: ERROR_BODY }, outcome: 'retry', retryAfterMs: 7000 },
  { name: 'HTTP 429 Retry-After: 7', answer: { status: 429, headers: { 'Retry-After': '7' }, body: ERROR_BODY }, outcome: 'retry', retryAfterMs: 7000 },
  { name: 'HTTP 413 Retry-After: 7', answer: { status: 413, headers: { 'Retry-After': '7' }, body: ERROR_BODY }, outcome: 'permanent' },
  { name: 'ECONNREFUSED', answer: { throws: networkError('ECONNREFUSED') }, outcome: 'retry' },
  { name: 'ECONNRESET', answer: { throws: networkError('ECONNRESET', 'read ECONNRESET') }, outcome: 'retry' },
];

/** Options of `checkStatusTable`. */
export interface StatusTableOptions {
  /** The channel's own rows (e.g. Slack's `200 {"ok":false}` → permanent), checked after the shared ones. */
  readonly extraRows?: readonly StatusRow[];
  /** Body of the shared 2xx answers, for channels that read it (e.g. `{"ok":true}`); empty by default. */
  readonly successBody?: string;
}

/** What is wrong with one row's result, or undefined. */
async function checkRow(makeChannel: (http: HttpClient) => Channel, delivery: Delivery, row: StatusRow): Promise<string | undefined> {
  const receiver = fakeReceiver([row.answer]);
  const r = await makeChannel(receiver.client).send(delivery, new AbortController().signal);
  try {
    receiver.assertDone();
  } catch (e) {
    return (e as Error).message;
  }
  const problems: string[] = [];
  if (r.outcome !== row.outcome) problems.push(`outcome ${r.outcome}, expected ${row.outcome}`);
  const status = row.status ?? ('status' in row.answer ? row.answer.status : undefined);
  if (r.status !== status) problems.push(`status ${r.status}, expected ${status}`);
  const retryAfterMs = r.outcome === 'retry' ? r.retryAfterMs : undefined;
  if (retryAfterMs !== row.retryAfterMs) problems.push(`retryAfterMs ${retryAfterMs}, expected ${row.retryAfterMs}`);
  if (r.outcome !== 'sent' && !r.error) problems.push('no error text');
  return problems.length > 0 ? problems.join(', ') : undefined;
}

/**
 * Sends `delivery` once per row through a channel built on a fresh strict fake receiver, and fails
 * listing every row whose outcome, status or retryAfterMs differs (or that sent other than one request).
 */
export async function checkStatusTable(
  makeChannel: (http: HttpClient) => Channel,
  delivery: Delivery,
  options: StatusTableOptions = {},
): Promise<void> {
  const shared = HTTP_STATUS_TABLE.map((row) =>
    row.outcome === 'sent' && options.successBody !== undefined && 'status' in row.answer
      ? { ...row, answer: { ...row.answer, body: options.successBody } }
      : row,
  );
  const failures: string[] = [];
  for (const row of [...shared, ...(options.extraRows ?? [])]) {
    const problem = await checkRow(makeChannel, delivery, row);
    if (problem) failures.push(`${row.name}: ${problem}`);
  }
  if (failures.length > 0) assert.fail(`status table: ${failures.length} row(s) wrong:\n  ${failures.join('\n  ')}`);
}

// ---- secret leaks -------------------------------------------------------------------------------

/** A secret for a failure message: a few leading characters (at most 3, and never the whole) and the length. */
function preview(secret: string): string {
  return `"${secret.slice(0, Math.min(3, Math.floor(secret.length / 2)))}…" (${secret.length} chars)`;
}

/**
 * The forms a secret takes in text: as is, percent-encoded (URLs), JSON-escaped (serialized logs), and
 * base64 of its UTF-8, standard or url-safe, padded or not (an echoed `Authorization: Basic` header).
 * Written independently of src/lib/secret.ts's `encodedForms`.
 */
function forms(secret: string): Map<string, string> {
  const out = new Map<string, string>([[secret, '']]);
  const add = (form: string, how: string) => {
    if (!out.has(form)) out.set(form, how);
  };
  add(encodeURIComponent(secret), ' percent-encoded');
  add(JSON.stringify(secret).slice(1, -1), ' JSON-escaped');
  const bytes = new TextEncoder().encode(secret);
  const b64 = btoa(String.fromCharCode(...bytes));
  add(b64, ' base64');
  add(b64.replace(/=+$/, ''), ' base64 unpadded');
  add(b64.replaceAll('+', '-').replaceAll('/', '_'), ' base64url');
  add(b64.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, ''), ' base64url unpadded');
  return out;
}

/**
 * Fails if any secret (as is, percent-encoded, JSON-escaped or base64) occurs in any place's text, naming each
 * place and secret found; the message shows only a secret's first characters and length, never the
 * texts. Places are named by their keys (`errorText`, `logs`, `lastError`, ...); null/undefined skip.
 */
export function assertNoSecretLeak(
  secrets: readonly string[],
  places: Readonly<Record<string, string | null | undefined>>,
): void {
  const leaks: string[] = [];
  for (const [i, secret] of secrets.entries()) {
    if (!secret) assert.fail(`assertNoSecretLeak: secret #${i} is empty`);
    for (const [place, text] of Object.entries(places)) {
      if (text == null) continue;
      for (const [form, how] of forms(secret)) {
        if (text.includes(form)) leaks.push(`${place} holds secret #${i} ${preview(secret)}${how}`);
      }
    }
  }
  if (leaks.length > 0) assert.fail(`secret leak: ${leaks.join('; ')}`);
}
