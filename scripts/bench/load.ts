/**
 * Benchmark load generator (its own process): POSTs single alarms to the relay with undici.
 *   mode "max":  closed loop, `concurrency` requests in flight, `total` alarms.
 *   mode "rate": open loop, `rate` alarms/s for `seconds` (latency is not hidden by back-pressure).
 * Reports {sent, ok, failed, elapsedMs, ack: number[]} over IPC.
 */
import { Pool } from 'undici';

interface Job {
  url: string;
  mode: 'max' | 'rate';
  phase: string;
  total?: number;
  concurrency?: number;
  rate?: number;
  seconds?: number;
}

const now = () => performance.timeOrigin + performance.now();

process.on('message', async (job: Job) => {
  const pool = new Pool(job.url, { connections: job.concurrency ?? 64, pipelining: 1 });
  const ack: number[] = [];
  let ok = 0;
  let failed = 0;
  let seq = 0;
  const one = async () => {
    const n = seq++;
    const t0 = now();
    const body = JSON.stringify({
      name: 'BenchAlarm',
      severity: 'warning',
      labels: { seq: String(n), phase: job.phase },
      annotations: { bench_sent: String(t0), bench_phase: job.phase },
    });
    try {
      const res = await pool.request({ path: '/v1/alarms', method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await res.body.dump();
      if (res.statusCode === 202) ok++;
      else failed++;
    } catch {
      failed++;
    }
    ack.push(now() - t0);
  };
  const start = now();
  if (job.mode === 'max') {
    const total = job.total ?? 10_000;
    const worker = async () => {
      while (seq < total) await one();
    };
    await Promise.all(Array.from({ length: job.concurrency ?? 64 }, worker));
  } else {
    const rate = job.rate ?? 1000;
    const total = Math.round(rate * (job.seconds ?? 10));
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
  const elapsedMs = now() - start;
  await pool.close();
  process.send!({ sent: seq, ok, failed, elapsedMs, ack });
});
process.send!({ ready: true });
