/**
 * Benchmark load generator (its own process): POSTs alarms with undici, to tocsin (`POST /v1/alarms`, 202)
 * or to Prometheus Alertmanager (`POST /api/v2/alerts`, a JSON array of alerts, 200); `batch` alarms a POST
 * (1: tocsin gets a single alarm; more: a JSON array).
 *   mode "max":  closed loop, `concurrency` requests in flight, `total` alarms.
 *   mode "rate": open loop, `rate` alarms/s for `seconds` (latency is not hidden by back-pressure).
 * Every alarm carries the label seq (its number in the job) and phase, and the annotations bench_sent
 * (epoch ms) and bench_phase. Jobs and results: scripts/bench/protocol.ts (LoadJob → LoadResult over IPC).
 */
import { Pool } from 'undici';
import type { LoadFormat, LoadJob, LoadResult } from './protocol.ts';

const now = () => performance.timeOrigin + performance.now();

const TARGET: Record<LoadFormat, { path: string; ok: number; body: (first: number, n: number, phase: string, sent: number) => unknown }> = {
  tocsin: {
    path: '/v1/alarms',
    ok: 202,
    body: (first, n, phase, sent) => {
      const alarms = Array.from({ length: n }, (_, i) => ({
        name: 'BenchAlarm',
        severity: 'warning',
        labels: { seq: String(first + i), phase },
        annotations: { bench_sent: String(sent), bench_phase: phase },
      }));
      return n === 1 ? alarms[0] : alarms;
    },
  },
  alertmanager: {
    path: '/api/v2/alerts',
    ok: 200,
    body: (first, n, phase, sent) =>
      Array.from({ length: n }, (_, i) => ({
        labels: { alertname: 'BenchAlarm', seq: String(first + i), phase },
        annotations: { bench_sent: String(sent), bench_phase: phase },
      })),
  },
};

process.on('message', async (job: LoadJob) => {
  const target = TARGET[job.format ?? 'tocsin'];
  const batch = Math.max(1, job.batch ?? 1);
  const pool = new Pool(job.url, { connections: job.concurrency ?? 64, pipelining: 1 });
  const ack: number[] = [];
  const statuses: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let requests = 0;
  let seq = 0;
  const total = job.mode === 'max' ? (job.total ?? 10_000) : Math.round((job.rate ?? 1000) * (job.seconds ?? 10));
  const one = async () => {
    const first = seq;
    const n = Math.min(batch, total - first);
    seq += n;
    requests++;
    const t0 = now();
    const body = JSON.stringify(target.body(first, n, job.phase, t0));
    let status = 'error';
    try {
      const res = await pool.request({ path: target.path, method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.body.dump();
      status = String(res.statusCode);
      if (res.statusCode === target.ok) ok += n;
      else failed += n;
    } catch {
      failed += n;
    }
    statuses[status] = (statuses[status] ?? 0) + 1;
    ack.push(now() - t0);
  };
  const start = now();
  if (job.mode === 'max') {
    const worker = async () => {
      while (seq < total) await one();
    };
    await Promise.all(Array.from({ length: job.concurrency ?? 64 }, worker));
  } else {
    const rate = job.rate ?? 1000;
    const inflight = new Set<Promise<void>>();
    // Send in 1 ms slices so the offered rate is smooth.
    while (seq < total) {
      const due = Math.min(total, Math.floor(((now() - start) / 1000) * rate));
      while (seq < due) {
        const p = one().finally(() => inflight.delete(p));
        inflight.add(p);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    await Promise.all([...inflight]);
  }
  const endedAt = now();
  await pool.close();
  const result: LoadResult = { sent: seq, ok, failed, requests, elapsedMs: endedAt - start, startedAt: start, endedAt, ack, statuses };
  process.send!(result);
});
process.send!({ ready: true });
