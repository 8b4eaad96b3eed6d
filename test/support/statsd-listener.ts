/**
 * A StatsD server for tests: a UDP socket on 127.0.0.1 (a free port) that keeps every metric line it
 * receives (a packet may hold several, one per line).
 */
import { createSocket } from 'node:dgram';

export interface StatsdListener {
  readonly port: number;
  /** Every line received, in order (`name:value|type`, with `|#tags` when sent). */
  readonly lines: string[];
  /** Resolves once `pred(lines)` holds; rejects after `ms`. */
  until(pred: (lines: readonly string[]) => boolean, ms?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startStatsdListener(): Promise<StatsdListener> {
  const socket = createSocket('udp4');
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (msg) => {
    lines.push(...msg.toString('utf8').split('\n').filter((l) => l !== ''));
    for (const w of waiters) w();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  return {
    port: socket.address().port,
    lines,
    until(pred, ms = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pred(lines)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`statsd lines not as expected after ${ms} ms; got:\n${lines.join('\n')}`));
        }, ms);
        waiters.add(check);
        check();
      });
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** The total of each counter (`name:n|c` lines), by name. */
export function counterTotals(lines: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of lines) {
    const m = /^([^:]+):(\d+)\|c(?:\||$)/.exec(l);
    if (m) out.set(m[1]!, (out.get(m[1]!) ?? 0) + Number(m[2]));
  }
  return out;
}
