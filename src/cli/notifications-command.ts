/**
 * @module cli/notifications-command
 * `tocsin notifications ID`: one notification of a RUNNING relay (`GET /api/v1/notifications/{id}`) and
 * its attempt history, grouped by series: series 0 is the first, series n the one after the n-th replay,
 * headed by when and by whom it was replayed.
 */
import { adminCommand, isoSeconds, type AdminCommandOptions } from './admin-client.ts';
import type { AlarmNotification } from './alarms-command.ts';
import { EXIT } from './exit-codes.ts';
import { renderFields, renderTable, styleFor, type TableStyle } from './table.ts';

export interface NotificationsValues {
  readonly url?: string;
  readonly token?: string;
  readonly json?: boolean;
}

export interface NotificationsCommandOptions extends AdminCommandOptions {
  /** The positional arguments after `notifications` (the ID). */
  readonly args: readonly string[];
  readonly values: NotificationsValues;
  /** Default: the style of process.stdout. */
  readonly style?: TableStyle;
}

/** `GET /api/v1/notifications/{id}`'s notification: an alarm's notification with its alarms and replays. */
export interface NotificationView extends AlarmNotification {
  alarm_id: string;
  alarm_ids: string[];
  replays: number;
}

export interface AttemptView {
  series: number;
  attempt: number;
  at: string | null;
  outcome: string;
  status: number | null;
  latency_ms: number | null;
  error: string | null;
}

export interface NotificationAnswer {
  notification?: Partial<NotificationView>;
  attempts?: Partial<AttemptView>[];
  replays?: { at?: string | null; by?: string | null }[];
}

const time = (t: unknown) => (typeof t === 'string' && t !== '' ? isoSeconds(t) : '-');

/** The notification's fields, then one table of attempts per series. */
export function renderNotification(body: NotificationAnswer, style: TableStyle = {}): string {
  const n = body.notification ?? {};
  const alarms = Array.isArray(n.alarm_ids) && n.alarm_ids.length > 1 ? n.alarm_ids.join(', ') : n.alarm_id;
  const fields: [string, unknown][] = [
    ['id', n.id], ['method', n.method], ['state', n.state], ['alarm', alarms], ['attempts', n.attempts], ['created at', time(n.created_at)],
  ];
  if (n.sent_at) fields.push(['sent at', time(n.sent_at)]);
  if (n.dead_at) fields.push(['dead at', time(n.dead_at)], ['dead reason', n.dead_reason]);
  if (n.next_attempt_at && (n.state === 'pending' || n.state === 'inflight')) fields.push(['next attempt', time(n.next_attempt_at)]);
  if (n.last_status !== null && n.last_status !== undefined) fields.push(['last status', n.last_status]);
  if (n.last_error) fields.push(['last error', n.last_error]);
  fields.push(['replays', n.replays ?? (body.replays ?? []).length]);
  let text = renderFields(fields);

  const attempts = body.attempts ?? [];
  const replays = body.replays ?? [];
  const series = [...new Set([0, ...attempts.map((a) => a.series ?? 0), ...replays.map((_, i) => i + 1)])].sort((a, b) => a - b);
  for (const s of series) {
    const replay = s > 0 ? replays[s - 1] : undefined;
    const head = s === 0 ? 'Series 0 (first delivery)' : `Series ${s} (replayed ${replay ? `${time(replay.at)} by ${replay.by ?? 'unknown'}` : ''})`;
    const rows = attempts.filter((a) => (a.series ?? 0) === s);
    text += `\n${head}:\n`;
    text += rows.length === 0
      ? 'no attempts\n'
      : renderTable(
        [{ header: 'ATTEMPT', right: true }, { header: 'AT' }, { header: 'OUTCOME' }, { header: 'STATUS', right: true }, { header: 'LATENCY', right: true }, { header: 'ERROR', flex: true, max: 300 }],
        rows.map((a) => [a.attempt, time(a.at), a.outcome, a.status, typeof a.latency_ms === 'number' ? `${a.latency_ms} ms` : null, a.error]),
        style,
      );
  }
  return text;
}

/** Runs `tocsin notifications ID`; returns the exit code (see exit-codes.ts). */
export async function notificationsCommand(opts: NotificationsCommandOptions): Promise<number> {
  const cmd = adminCommand('notifications', { ...opts, command: '' });
  if (!cmd.ok) return cmd.code;
  const { out, usageError, api, fail, json } = cmd;
  const id = opts.args[0];
  if (id === undefined || id.trim() === '') return usageError("the notification's ID is required");
  const a = await api.request('GET', `/api/v1/notifications/${encodeURIComponent(id.trim())}`);
  if (!a.ok) return fail(a);
  out(opts.values.json ? json(a.body) : renderNotification(a.body as NotificationAnswer, opts.style ?? styleFor(process.stdout, opts.env)));
  return EXIT.ok;
}
