/**
 * A strict fake of a Slack incoming webhook (https://api.slack.com/messaging/webhooks) for the slack
 * channel's end-to-end tests: node:http on 127.0.0.1, port 0, one webhook at
 * `/services/T…/B…/<token>` (the shape of hooks.slack.com's URLs; `url()` gives it).
 *
 * It answers like Slack: 200 `ok` for a message it accepts; 400 `invalid_payload` for a body that is not
 * a valid message; 404 `no_service` for another path. A test can script the next answers (`answerNext`),
 * e.g. each documented error (`SLACK_ERRORS`) or 429 with Retry-After. On top of that it checks every
 * request against what Slack documents and records each problem in `violations`:
 *
 * - the method is POST, to the webhook's path (no query);
 * - the content type is application/json, and the body a JSON object;
 * - only known top-level fields; `text` a string, required unless there are blocks or attachments;
 * - `blocks` (top level and in each attachment) an array of at most 50 blocks of known types; a header's
 *   text plain_text of 1..150 characters; a section's text 1..3000 characters; a context's elements
 *   1..10 text objects; an attachment's `color` a hex colour or good/warning/danger.
 *
 * Every request is recorded in `requests`, with its body and the answer given.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { closePeer, listenOnLoopback, waitUntil } from './peer-server.ts';

/** An answer: status, text body, headers (e.g. Retry-After). */
export interface FakeSlackAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Slack's documented error answers (status and body). From the incoming webhooks error changelog
 * (https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks): invalid_payload,
 * user_not_found, action_prohibited, channel_not_found, channel_is_archived, rollup_error. Listed under
 * "Handling errors" on https://api.slack.com/messaging/webhooks (statuses as reported from real answers:
 * 403 invalid_token, 404 no_team; 404 no_service and 403 team_disabled not confirmed from a source here,
 * any 4xx is permanent alike): no_service, no_team, invalid_token, team_disabled. Rate limiting
 * (https://api.slack.com/docs/rate-limits): 429 with Retry-After in seconds.
 */
export const SLACK_ERRORS = {
  invalid_payload: { status: 400, body: 'invalid_payload' },
  user_not_found: { status: 400, body: 'user_not_found' },
  action_prohibited: { status: 403, body: 'action_prohibited' },
  invalid_token: { status: 403, body: 'invalid_token' },
  team_disabled: { status: 403, body: 'team_disabled' },
  channel_not_found: { status: 404, body: 'channel_not_found' },
  no_service: { status: 404, body: 'no_service' },
  no_team: { status: 404, body: 'no_team' },
  channel_is_archived: { status: 410, body: 'channel_is_archived' },
  rate_limited: { status: 429, body: 'rate_limited', headers: { 'retry-after': '30' } },
  rollup_error: { status: 500, body: 'rollup_error' },
} as const satisfies Record<string, FakeSlackAnswer>;

/** One request, as received. */
export interface FakeSlackRequest {
  readonly method: string;
  /** The request target (path and query). */
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The body parsed, when it is JSON. */
  readonly json: unknown;
  /** The status answered. */
  readonly status: number;
}

export interface FakeSlack {
  readonly origin: string;
  /** The webhook URL to configure. */
  url(): string;
  /** The webhook's token (the secret last path segment). */
  readonly token: string;
  readonly requests: readonly FakeSlackRequest[];
  /** Every problem found, in arrival order ("<METHOD> <target>: <problem>"). */
  readonly violations: readonly string[];
  /** Answers the next requests with these, in order (then as Slack would again). */
  answerNext(...answers: FakeSlackAnswer[]): void;
  /** Resolves true when pred() holds (checked on every request and every 50 ms), false on timeout. */
  waitUntil(pred: () => boolean, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

const TOP_LEVEL = new Set([
  'text', 'blocks', 'attachments', 'mrkdwn', 'username', 'icon_emoji', 'icon_url', 'channel', 'thread_ts',
  'unfurl_links', 'unfurl_media', 'parse', 'link_names', 'metadata',
]);
const BLOCK_TYPES = new Set(['actions', 'context', 'divider', 'file', 'header', 'image', 'input', 'markdown', 'rich_text', 'section', 'video']);
const TEXT_TYPES = new Set(['plain_text', 'mrkdwn']);
const MAX_BLOCKS = 50;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Problems of one blocks array (`where` names it). */
function checkBlocks(blocks: unknown, where: string): string[] {
  if (!Array.isArray(blocks)) return [`${where} is not an array`];
  const out: string[] = [];
  if (blocks.length > MAX_BLOCKS) out.push(`${where} has ${blocks.length} blocks, over ${MAX_BLOCKS}`);
  const text = (t: unknown, at: string, max: number, types = TEXT_TYPES): void => {
    if (!isObject(t) || !types.has(String(t['type'])) || typeof t['text'] !== 'string') {
      out.push(`${at} is not a text object of type ${[...types].join(' or ')}`);
      return;
    }
    const n = t['text'].length;
    if (n === 0 || n > max) out.push(`${at} has ${n} characters (1..${max} allowed)`);
  };
  blocks.forEach((b, i) => {
    const at = `${where}[${i}]`;
    if (!isObject(b) || !BLOCK_TYPES.has(String(b['type']))) return void out.push(`${at} is not a block of a known type`);
    if (b['type'] === 'header') text(b['text'], `${at}.text`, 150, new Set(['plain_text']));
    if (b['type'] === 'section') text(b['text'], `${at}.text`, 3000);
    if (b['type'] === 'context') {
      const els = b['elements'];
      if (!Array.isArray(els) || els.length === 0 || els.length > 10) return void out.push(`${at}.elements must be 1..10 elements`);
      els.forEach((e, j) => text(e, `${at}.elements[${j}]`, 3000));
    }
  });
  return out;
}

/** Problems of a message body (parsed JSON), per Slack's message payload. */
export function checkSlackMessage(msg: unknown): string[] {
  if (!isObject(msg)) return ['the body is not a JSON object'];
  const out = Object.keys(msg).filter((k) => !TOP_LEVEL.has(k)).map((k) => `unknown field ${k}`);
  const hasBlocks = Array.isArray(msg['blocks']) && msg['blocks'].length > 0;
  const hasAttachments = Array.isArray(msg['attachments']) && msg['attachments'].length > 0;
  if (msg['text'] !== undefined && typeof msg['text'] !== 'string') out.push('text is not a string');
  if ((typeof msg['text'] !== 'string' || msg['text'] === '') && !hasBlocks && !hasAttachments) out.push('no text, blocks or attachments');
  if (msg['blocks'] !== undefined) out.push(...checkBlocks(msg['blocks'], 'blocks'));
  if (msg['attachments'] !== undefined) {
    if (!Array.isArray(msg['attachments'])) out.push('attachments is not an array');
    else {
      msg['attachments'].forEach((a, i) => {
        if (!isObject(a)) return void out.push(`attachments[${i}] is not an object`);
        const c = a['color'];
        if (c !== undefined && !(typeof c === 'string' && /^(#[0-9a-fA-F]{6}|good|warning|danger)$/.test(c))) out.push(`attachments[${i}].color is not a colour`);
        if (a['blocks'] !== undefined) out.push(...checkBlocks(a['blocks'], `attachments[${i}].blocks`));
      });
    }
  }
  return out;
}

/** A token like Slack's: 24 letters and digits. */
const TOKEN = 'Xq7ZpL2mN9vR4tK8wB3yH6cJ';

export async function startFakeSlack(): Promise<FakeSlack> {
  const path = `/services/T0TOCSIN01/B0TOCSIN02/${TOKEN}`;
  const requests: FakeSlackRequest[] = [];
  const violations: string[] = [];
  const scripted: FakeSlackAnswer[] = [];
  const sockets = new Set<Socket>();
  const waiters = new Set<() => void>();
  let closed = false;

  /** Validates one request; returns Slack's own answer to it. */
  const judge = (method: string, target: string, headers: IncomingHttpHeaders, body: string): [FakeSlackAnswer, unknown] => {
    const problems: string[] = [];
    if (method !== 'POST') problems.push('method is not POST');
    if (target !== path) {
      violations.push(`${method} ${target}: not the webhook's path (Slack: 404 no_service)`);
      return [SLACK_ERRORS.no_service, undefined];
    }
    const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') problems.push(`content-type is ${JSON.stringify(headers['content-type'] ?? '')}, not application/json`);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      problems.push('the body is not JSON');
    }
    if (json !== undefined) problems.push(...checkSlackMessage(json));
    for (const p of problems) violations.push(`${method} ${target}: ${p}`);
    return [problems.length > 0 ? SLACK_ERRORS.invalid_payload : { status: 200, body: 'ok' }, json];
  };

  const server: Server = createServer((req, res) => {
    res.on('error', () => {});
    req.on('error', () => {});
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = req.method ?? '';
      const target = req.url ?? '';
      const body = Buffer.concat(chunks).toString('utf8');
      const [own, json] = judge(method, target, req.headers, body);
      const answer = scripted.shift() ?? own;
      requests.push({ method, target, headers: req.headers, body, json, status: answer.status });
      for (const w of [...waiters]) w();
      res.writeHead(answer.status, { 'content-type': 'text/html', ...answer.headers }).end(answer.body);
    });
  });
  const port = await listenOnLoopback(server, sockets);
  const origin = `http://127.0.0.1:${port}`;

  return {
    origin,
    url: () => `${origin}${path}`,
    token: TOKEN,
    requests,
    violations,
    answerNext(...answers) {
      scripted.push(...answers);
    },
    waitUntil(pred, timeoutMs) {
      return waitUntil(pred, timeoutMs, waiters, 50);
    },
    async close() {
      if (closed) return;
      closed = true;
      await closePeer(server, sockets);
    },
  };
}
