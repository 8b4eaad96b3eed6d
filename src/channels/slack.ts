/**
 * @module channels/slack
 * Post to a Slack channel through an incoming webhook. One JSON message per notification:
 *
 * - `text`: the notification text (template part `text`: what Slack shows in notifications and where
 *   blocks cannot be shown);
 * - `blocks`: a header (template part `title`);
 * - `attachments[0]`: coloured by severity (green once resolved), a section and a context block per alarm,
 *   built here from the alarm: name, severity, summary, description; runbook link, source, time, labels.
 *   A notification carrying many alarms (grouping) lists the first MAX_LISTED_ALARMS and says how many
 *   more there are.
 *
 * Slack documentation followed:
 * - the request and its answer (POST JSON to the webhook URL; success is HTTP 200 with the body `ok`):
 *   https://api.slack.com/messaging/webhooks
 * - the error answers, a status and a short text body (400 invalid_payload, user_not_found; 403
 *   action_prohibited; 404 channel_not_found; 410 channel_is_archived; 500 rollup_error):
 *   https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks
 * - rate limiting (about one message per second; HTTP 429 with Retry-After in seconds):
 *   https://api.slack.com/docs/rate-limits
 * - block limits (50 blocks per message; header text at most 150 characters; section text at most 3000):
 *   https://docs.slack.dev/reference/block-kit/blocks/header-block,
 *   https://api.slack.com/reference/block-kit/blocks#section
 * - escaping `&`, `<` and `>` in text, and `<!date^…>` dates shown in each reader's time zone:
 *   https://api.slack.com/reference/surfaces/formatting
 *
 * Outcomes: a 2xx answer counts as sent only with the body `ok`; any other 2xx body means the URL is not
 * a Slack incoming webhook (or Slack failed in a way it does not document) and is permanent. Slack's
 * error answers are 4xx (permanent: retrying cannot help) or 429/5xx (retried, honouring Retry-After),
 * as for every HTTP channel (channels/http). Slack has no idempotency key: a retry after a lost answer
 * can post twice.
 */
import * as z from 'zod';
import type { Alarm, Severity } from '../domain/alarm.ts';
import type { Delivery, SendResult } from '../domain/notification.ts';
import type { Secret } from '../lib/secret.ts';
import { TemplateError, type ChannelTemplates, type Renderer, type TemplatePart } from '../render/template.ts';
import { attemptHttp, excerpt } from './http.ts';
import { checkHttpUrl } from './settings.ts';
import { defineChannel, type Channel, type ChannelDeps, type HttpRequest, type HttpResponse } from './types.ts';
import { USER_AGENT } from './webhook.ts';

export interface SlackSettings {
  /** The incoming webhook URL (`https://hooks.slack.com/services/T…/B…/…`): its path is the credential. */
  readonly url: Secret;
}

/** The rendered template parts a request is built from. */
export interface SlackRendered {
  /** Notification text, Slack mrkdwn (alarm values in it already escaped by the template). */
  readonly text: string;
  /** Header text (plain text); no header block when absent or blank. */
  readonly title?: string;
}

/** Slack's limits (see the module comment) and tocsin's own budget for one message. */
export const SLACK_LIMITS = {
  headerText: 150,
  sectionText: 3000,
  /** Slack truncates a message's `text` beyond this. */
  text: 40_000,
  /** tocsin's: alarms listed one by one (2 blocks each, + 1: far under Slack's 50 blocks). */
  listedAlarms: 10,
  /** tocsin's: the section texts of one message together, so a large group stays a readable message. */
  allSections: 12_000,
  /** tocsin's: one alarm's context line (runbook, source, time, labels). */
  contextText: 1000,
} as const;

const EMOJI: Readonly<Record<Severity, string>> = { critical: '🚨', error: '🔴', warning: '🟠', info: 'ℹ️' };
const COLOR: Readonly<Record<Severity, string>> = { critical: '#B80D0D', error: '#E01E5A', warning: '#ECB22E', info: '#36C5F0' };
const RESOLVED_COLOR = '#2EB67D';
const SEVERITY_ORDER: readonly Severity[] = ['critical', 'error', 'warning', 'info'];

/** " (+N more)" after the first alarm's name when the notification carries several. */
const MORE = "<%= it.alarms.length > 1 ? ' (+' + (it.alarms.length - 1) + ' more)' : '' %>";
const SUMMARY = "<%= it.alarm.summary ? ': ' + it.alarm.summary : '' %>";

/**
 * The default templates. `text` is mrkdwn and auto-escaped: `<%= %>` escapes `&`, `<` and `>`, so alarm
 * data can neither forge links nor mention @channel (a template may still write `<!here>` itself).
 * `title` is the header's plain text, where Slack reads no markup.
 */
export const SLACK_TEMPLATES: ChannelTemplates = {
  parts: ['title', 'text'],
  html: ['text'],
  firing: {
    title: `<%= severityEmoji() %> FIRING: <%= it.alarm.name %>${MORE}`,
    text: `<%= severityEmoji() %> FIRING [<%= it.alarm.severity %>] <%= it.alarm.name %>${SUMMARY}${MORE}`,
  },
  resolved: {
    title: `<%= severityEmoji() %> RESOLVED: <%= it.alarm.name %>${MORE}`,
    text: `<%= severityEmoji() %> RESOLVED <%= it.alarm.name %>${SUMMARY}${MORE}`,
  },
};

/** Slack's escaping for text: only `&`, `<` and `>` (it decodes nothing else). */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The auto-escaped `text` part: eta also escapes quotes, as entities Slack would show literally. */
function slackText(rendered: string): string {
  return rendered.replace(/&quot;/g, '"').replace(/&#39;/g, "'");
}

/**
 * At most `max` characters (UTF-16 units, never fewer than Slack counts), cut visibly with "…". In mrkdwn
 * the cut never splits an entity (`&amp;`) or a `<…>` link or date: it goes back before them.
 */
export function cutText(s: string, max: number, mrkdwn: boolean): string {
  if (s.length <= max) return s;
  let t = s.slice(0, max - 1);
  if (/[\uD800-\uDBFF]$/.test(t)) t = t.slice(0, -1);
  if (mrkdwn) {
    t = t.replace(/&[a-z]*$/, '');
    const open = t.lastIndexOf('<');
    if (open > t.lastIndexOf('>')) t = t.slice(0, open);
  }
  return `${t}…`;
}

type Block = Record<string, unknown>;
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });

/** `<url|Runbook>` from the `runbook_url` (Prometheus' name) or `runbook` annotation, if it is an http(s) URL. */
function runbookLink(a: Alarm): string | undefined {
  const raw = a.annotations['runbook_url'] ?? a.annotations['runbook'];
  if (raw === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  return `<${escapeMrkdwn(u.href.replace(/\|/g, '%7C'))}|Runbook>`;
}

/** A time every reader sees in their own zone; the fallback (old clients) is UTC. */
function slackDate(ms: number): string {
  const utc = `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time_secs}|${utc}>`;
}

/** One alarm: a section (name, severity, summary, description) and a context line. */
function alarmBlocks(a: Alarm, sectionMax: number): Block[] {
  const resolved = a.status === 'resolved';
  const lines = [`${resolved ? '✅' : EMOJI[a.severity]} *${escapeMrkdwn(a.name)}* · ${a.severity}${resolved ? ' · resolved' : ''}`];
  if (a.summary) lines.push(escapeMrkdwn(a.summary));
  if (a.description) lines.push(escapeMrkdwn(a.description));
  const labels = Object.keys(a.labels)
    .sort()
    .map((k) => `\`${escapeMrkdwn(k)}=${escapeMrkdwn(a.labels[k]!)}\``);
  const meta = [runbookLink(a), escapeMrkdwn(a.source), slackDate(a.occurredAt), ...labels].filter((x) => x !== undefined);
  return [
    { type: 'section', text: mrkdwn(cutText(lines.join('\n'), sectionMax, true)) },
    { type: 'context', elements: [mrkdwn(cutText(meta.join(' · '), SLACK_LIMITS.contextText, true))] },
  ];
}

/** Green when every alarm is resolved; else the colour of the most severe firing alarm. */
function color(alarms: readonly Alarm[]): string {
  const firing = alarms.filter((a) => a.status !== 'resolved');
  if (firing.length === 0) return RESOLVED_COLOR;
  return COLOR[SEVERITY_ORDER.find((s) => firing.some((a) => a.severity === s))!];
}

/** Pure: the exact request for one attempt. */
export function buildSlackRequest(cfg: SlackSettings, rendered: SlackRendered, d: Delivery): HttpRequest {
  const title = cutText((rendered.title ?? '').replace(/\s+/g, ' ').trim(), SLACK_LIMITS.headerText, false);
  const listed = d.alarms.slice(0, SLACK_LIMITS.listedAlarms);
  const sectionMax = Math.min(SLACK_LIMITS.sectionText, Math.floor(SLACK_LIMITS.allSections / Math.max(1, listed.length)));
  const details = listed.flatMap((a) => alarmBlocks(a, sectionMax));
  const unlisted = d.alarms.length - listed.length;
  if (unlisted > 0) {
    details.push({ type: 'context', elements: [mrkdwn(`… and ${unlisted} more alarm${unlisted === 1 ? '' : 's'} not shown (${d.alarms.length} in all)`)] });
  }
  // Slack wants a text with blocks (for notifications): a blank one falls back to the header.
  const first = d.alarms[0]!;
  const text = rendered.text.trim() !== '' ? rendered.text : escapeMrkdwn(title || `${first.status}: ${first.name}`);
  const body = {
    text: cutText(text, SLACK_LIMITS.text, true),
    ...(title !== '' && { blocks: [{ type: 'header', text: { type: 'plain_text', text: title, emoji: true } }] }),
    attachments: [{ color: color(d.alarms), blocks: details }],
  };
  return {
    method: 'POST',
    url: cfg.url.reveal(),
    headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
    body: JSON.stringify(body),
  };
}

/**
 * A 2xx answer is Slack's only with the body `ok`. Anything else did not come from an incoming webhook
 * (a proxy, a wrong URL) or reports a failure Slack does not document: permanent, as retrying the same
 * URL cannot make it one.
 */
export function inspectSlackAnswer(res: HttpResponse): SendResult | undefined {
  if (res.bodyExcerpt.trim() === 'ok') return undefined;
  const body = excerpt(res.bodyExcerpt);
  return { outcome: 'permanent', status: res.status, error: `HTTP ${res.status} without Slack's "ok": ${body || '(empty body)'}` };
}

export function createSlackChannel(method: string, cfg: SlackSettings, deps: ChannelDeps, renderer: Renderer): Channel {
  const now = () => deps.clock.now();
  return {
    method,
    async send(d, signal) {
      let req: HttpRequest;
      let part: TemplatePart = 'title';
      try {
        const title = renderer.render('title', d);
        part = 'text';
        const text = slackText(renderer.render('text', d) ?? '');
        req = buildSlackRequest(cfg, { text, ...(title !== undefined && { title }) }, d);
      } catch (e) {
        if (e instanceof TemplateError) return { outcome: 'permanent', error: `template error in ${part}: ${e.message}` };
        return { outcome: 'permanent', error: `cannot build request: ${e instanceof Error ? e.message : String(e)}` };
      }
      // The URL's path is the credential: attemptHttp redacts it (and its parts) from every error text.
      return attemptHttp(deps.http, req, signal, { now, secrets: [cfg.url], inspect: inspectSlackAnswer });
    },
  };
}

export const slackChannel = defineChannel({
  type: 'slack',
  summary: 'post to a Slack channel through an incoming webhook: a header, then each alarm in an attachment coloured by severity',
  fields: z.strictObject({}),
  defaults: {},
  secrets: {
    url: {
      required: true,
      check: checkHttpUrl,
      description: 'the incoming webhook URL (`https://hooks.slack.com/services/T…/B…/…`); its path is the credential',
    },
  },
  settings: (_fields, s): SlackSettings => ({ url: s.url! }),
  templates: SLACK_TEMPLATES,
  // "No more than one message per second", with short bursts allowed (https://api.slack.com/docs/rate-limits).
  // The burst size is not documented: 5 is tocsin's choice; a 429 beyond it is retried after its Retry-After.
  rateLimit: { perSecond: 1, burst: 5 },
  create: (method, settings, deps, renderer) => createSlackChannel(method, settings, deps, renderer),
});
