/**
 * Benchmark webhook sink (its own process): answers 204, counts deliveries and end-to-end latency
 * (receive time minus the `bench_sent` annotation the load generator put on each alarm).
 * Understands tocsin's envelope (`{notification_id, alarm}` or `{notification_id, alarms: […]}`) and
 * Alertmanager's webhook body (`{alerts: [{labels, annotations, fingerprint}]}`): one delivery per alarm,
 * distinct by notification id (and position) for tocsin, by fingerprint (else labels phase+seq) for Alertmanager.
 * Talks to the orchestrator over IPC (scripts/bench/protocol.ts): {cmd:'stats'} → SinkStats, {cmd:'reset'}.
 */
import { createServer } from 'node:http';
import type { PhaseStats, SinkCommand, SinkStats } from './protocol.ts';

interface DeliveredAlarm {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  fingerprint?: string;
}
interface Body {
  notification_id?: string;
  alarm?: DeliveredAlarm;
  alarms?: DeliveredAlarm[];
  alerts?: DeliveredAlarm[];
}

const now = () => performance.timeOrigin + performance.now();
let seen = new Set<string>();
let count = 0;
let phases: Record<string, PhaseStats> = {};
let e2ePhases = new Set(['latency']);
let e2e: number[] = [];

function record(key: string, alarm: DeliveredAlarm, t: number): void {
  count++;
  const phase = alarm.annotations?.bench_phase ?? alarm.labels?.phase ?? 'unknown';
  const p = (phases[phase] ??= { count: 0, unique: 0, firstAt: t, lastAt: t });
  p.count++;
  p.lastAt = t;
  if (seen.has(key)) return;
  seen.add(key);
  p.unique++;
  const sent = Number(alarm.annotations?.bench_sent);
  if (Number.isFinite(sent) && e2ePhases.has(phase)) e2e.push(t - sent);
}

function deliveries(body: Body): [string, DeliveredAlarm][] {
  if (Array.isArray(body.alerts)) {
    return body.alerts.map((a) => [`am:${a.fingerprint ?? `${a.labels?.phase}:${a.labels?.seq}`}`, a]);
  }
  if (Array.isArray(body.alarms)) return body.alarms.map((a, i) => [`${body.notification_id}#${i}`, a]);
  return [[String(body.notification_id), body.alarm ?? {}]];
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const t = now();
    res.writeHead(204).end();
    let body: Body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body;
    } catch {
      count++; // counted anyway
      return;
    }
    for (const [key, alarm] of deliveries(body)) record(key, alarm, t);
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.send!({ ready: typeof addr === 'object' && addr ? addr.port : 0 });
});
process.on('message', (m: SinkCommand) => {
  if (m.cmd === 'stats') {
    const stats: SinkStats = { count, unique: seen.size, lastAt: now(), e2e, phases };
    process.send!(stats);
    e2e = [];
  }
  if (m.cmd === 'reset') {
    seen = new Set();
    count = 0;
    phases = {};
    e2e = [];
    e2ePhases = new Set(m.e2ePhases ?? ['latency']);
    process.send!({ reset: true });
  }
  if (m.cmd === 'exit') process.exit(0);
});
