/**
 * Benchmark webhook sink (its own process): answers 204, counts deliveries and end-to-end latency
 * (receive time minus the `bench_sent` annotation the load generator put on each alarm).
 * Talks to the orchestrator over IPC: {cmd:'stats'} → {count, unique, e2e: number[]}.
 */
import { createServer } from 'node:http';

const now = () => performance.timeOrigin + performance.now();
const seen = new Set<string>();
let count = 0;
let e2e: number[] = [];

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const t = now();
    res.writeHead(204).end();
    count++;
    try {
      const env = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { notification_id: string; alarm: { annotations: Record<string, string> } };
      seen.add(env.notification_id);
      const sent = Number(env.alarm.annotations.bench_sent);
      if (Number.isFinite(sent) && env.alarm.annotations.bench_phase === 'latency') e2e.push(t - sent);
    } catch {
      /* counted anyway */
    }
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.send!({ ready: typeof addr === 'object' && addr ? addr.port : 0 });
});
process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'stats') {
    process.send!({ count, unique: seen.size, lastAt: now(), e2e });
    e2e = [];
  }
  if (m.cmd === 'exit') process.exit(0);
});
