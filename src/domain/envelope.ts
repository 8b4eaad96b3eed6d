/**
 * @module domain/envelope
 * The documented notification envelope: the JSON body of a webhook POST and of a `log` line.
 * A notification with one alarm (every notification today) has `alarm`; a grouped notification will
 * carry `alarms` instead (same version: receivers that read `alarm` never see a grouped one unless
 * grouping is configured for their method).
 */
import { alarmToJson, type AlarmJson } from './alarm.ts';
import type { Delivery } from './notification.ts';

export const ENVELOPE_VERSION = '1';

interface EnvelopeBase {
  version: string;
  notification_id: string;
  attempt: number;
  method: string;
  /** Present on reminders only: the n-th repeat of a still-firing alarm (repeat_interval). */
  repeat?: number;
}

export type Envelope = EnvelopeBase & ({ alarm: AlarmJson } | { alarms: AlarmJson[] });

export function toEnvelope(d: Delivery): Envelope {
  const base: EnvelopeBase = { version: ENVELOPE_VERSION, notification_id: d.notificationId, attempt: d.attempt, method: d.method };
  if (d.repeat) base.repeat = d.repeat;
  if (d.alarms.length === 1) return { ...base, alarm: alarmToJson(d.alarms[0]!) };
  return { ...base, alarms: d.alarms.map(alarmToJson) };
}
