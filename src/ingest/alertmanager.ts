/**
 * @module ingest/alertmanager
 * The Alertmanager webhook (POST /v1/alertmanager), payload version "4", so an existing Alertmanager can
 * relay through tocsin's durable outbox: point a `webhook_configs` receiver at it (with `send_resolved: true`,
 * or its alarms only ever resolve by a later message).
 *
 * Each alert of `alerts[]` becomes an alarm with its own `status` (a message can mix firing and resolved;
 * a firing alert whose endsAt has passed is resolved, as elsewhere). The alert's `fingerprint` is the dedup
 * key (computed from its labels, as Alertmanager does, when missing). `endsAt` `0001-01-01T00:00:00Z` (Go's
 * zero time) means not ended: no endsAt. Labels, annotations, alertname and severity map as in the
 * Prometheus format (ingest/prometheus). The message's receiver, groupKey, groupLabels and externalURL and
 * the alert's generatorURL go into `details`.
 */
import { z } from 'zod';
import { STATUSES, type AlarmStatus, type JsonValue } from '../domain/alarm.ts';
import { labelSetFingerprint } from './am-fingerprint.ts';
import { IngestError, issueToIngestError } from './errors.ts';
import { describe, optString } from './fields.ts';
import { defineFormat, type ParseContext } from './format.ts';
import { parseJsonLossless } from './lossless.ts';
import { alertName, alertObject, amAlarm, bestEffort, checkTimes, goTime, labelSet } from './prometheus.ts';
import type { ParsedAlarm, ParseOutcome } from './types.ts';

/** The webhook payload version read here (Alertmanager 0.x writes "4"). */
export const WEBHOOK_VERSION = '4';

export const message = z.object({
  receiver: optString,
  groupKey: optString,
  externalURL: optString,
  alerts: z.array(z.unknown(), { error: (iss) => (iss.input == null ? 'is required: the alerts of the notification' : `must be an array of alerts, got ${describe(iss.input)}`) }),
});

const alertFields = z.object({
  status: z.enum(STATUSES, {
    error: (iss) => (iss.input == null ? 'is required: firing or resolved' : `must be one of ${STATUSES.join(', ')}, got ${describe(iss.input)}`),
  }),
  startsAt: goTime,
  endsAt: goTime,
  generatorURL: optString,
  fingerprint: optString,
});

type Details = { [key: string]: JsonValue };

function parseAlert(raw: unknown, prefix: string, ctx: Pick<ParseContext, 'source' | 'now'>, shared: Details): ParsedAlarm {
  const o = alertObject(raw, prefix, 'an alert object {status, labels, annotations, startsAt, endsAt, fingerprint}');
  const labels = labelSet(o.labels, `${prefix}.labels`, true);
  const name = alertName(labels, `${prefix}.labels`);
  const annotations = labelSet(o.annotations, `${prefix}.annotations`, false);
  const r = alertFields.safeParse(o);
  if (!r.success) throw issueToIngestError(prefix, r.error.issues[0]!);
  const { startsAt, endsAt, generatorURL, fingerprint } = r.data;
  checkTimes(r.data, prefix);
  const status: AlarmStatus = r.data.status === 'firing' && endsAt !== undefined && endsAt <= ctx.now ? 'resolved' : r.data.status;
  const alarm = amAlarm(ctx.source, name, {
    labels,
    annotations,
    startsAt,
    endsAt,
    status,
    dedupKey: fingerprint ?? labelSetFingerprint(labels),
    details: { ...shared, ...(generatorURL !== undefined && { generatorURL }) },
  });
  return { alarm };
}

/** One webhook message → one alarm per alert (a message without alerts is ignored). */
export function parseAlertmanager(body: string, ctx: Pick<ParseContext, 'source' | 'now'>): ParseOutcome {
  const doc = alertObject(parseJsonLossless(body), '', 'an Alertmanager webhook message {version, receiver, status, alerts, …}');
  const version = doc.version;
  if (version == null) throw new IngestError('version', `is required: the Alertmanager webhook payload version, "${WEBHOOK_VERSION}"`);
  if (version !== WEBHOOK_VERSION) {
    throw new IngestError('version', `must be "${WEBHOOK_VERSION}" (the Alertmanager webhook payload version tocsin reads), got ${describe(version)}`);
  }
  const r = message.safeParse(doc);
  if (!r.success) throw issueToIngestError('', r.error.issues[0]!);
  const { receiver, groupKey, externalURL, alerts } = r.data;
  const groupLabels = labelSet(doc.groupLabels, 'groupLabels', false);
  const shared: Details = {
    ...(receiver !== undefined && { receiver }),
    ...(groupKey !== undefined && { groupKey }),
    ...(Object.keys(groupLabels).length > 0 && { groupLabels }),
    ...(externalURL !== undefined && { externalURL }),
  };
  if (alerts.length === 0) return { kind: 'ignored', reason: 'no alerts in the message' };
  // Best effort: Alertmanager does not retry a 4xx, so one bad alert must not lose its group.
  return bestEffort(alerts, (a, i) => parseAlert(a, `alerts[${i}]`, ctx, shared));
}

/** POST /v1/alertmanager: an Alertmanager webhook receiver. No options. */
export const alertmanagerFormat = defineFormat({
  name: 'alertmanager',
  path: '/v1/alertmanager',
  defaultSource: 'alertmanager',
  options: z.strictObject({}),
  parse: (body, ctx) => parseAlertmanager(body, ctx),
});
