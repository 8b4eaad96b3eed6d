/**
 * @module domain/envelope
 * The documented notification envelope: the JSON body of a webhook POST and of a `log` line.
 */
import { alarmToJson, type AlarmJson } from './alarm.ts';
import type { Delivery } from './notification.ts';

export const ENVELOPE_VERSION = '1';

export interface Envelope {
  version: string;
  notification_id: string;
  attempt: number;
  method: string;
  alarm: AlarmJson;
}

export function toEnvelope(d: Delivery): Envelope {
  return {
    version: ENVELOPE_VERSION,
    notification_id: d.notificationId,
    attempt: d.attempt,
    method: d.method,
    alarm: alarmToJson(d.alarm),
  };
}
