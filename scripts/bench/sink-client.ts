/**
 * The orchestrator's side of the benchmark sink (scripts/bench/sink.ts): reset it, read its counters, and
 * wait, bounded, until a phase's alarms have all arrived. Keeps the end-to-end latencies the sink hands over.
 */
import type { ChildProcess } from 'node:child_process';
import { ask, now, sleep } from './common.ts';
import type { PhaseStats, SinkStats } from './protocol.ts';

export interface WaitLimits {
  /** Give up when no new alarm of the phase arrived for this long (ms). */
  readonly stallMs: number;
  /** Give up after this long whatever happens (ms). */
  readonly maxMs: number;
}

export class SinkClient {
  /** End-to-end latencies (ms) of the alarms of the e2e phases since the last reset. */
  e2e: number[] = [];
  constructor(readonly child: ChildProcess, readonly url: string) {}

  /** Forgets every delivery; from now on keeps the end-to-end latencies of `e2ePhases`. */
  async reset(e2ePhases: string[]): Promise<void> {
    await ask(this.child, { cmd: 'reset', e2ePhases }, 10_000, 'the sink to reset');
    this.e2e = [];
  }

  async stats(): Promise<SinkStats> {
    const s = await ask<SinkStats>(this.child, { cmd: 'stats' }, 10_000, 'the sink to answer stats');
    for (const x of s.e2e) this.e2e.push(x);
    return s;
  }

  /** Copies delivered more than once, every phase together. */
  async duplicates(): Promise<number> {
    const s = await this.stats();
    return Object.values(s.phases).reduce((n, p) => n + p.count - p.unique, 0);
  }

  /** Resolves once `expected` distinct alarms of `phase` have arrived; rejects naming `what` if they stall or take too long. */
  async waitFor(phase: string, expected: number, what: string, limits: WaitLimits): Promise<PhaseStats> {
    const start = now();
    let last = -1;
    let progressAt = start;
    for (;;) {
      const p = (await this.stats()).phases[phase] ?? { count: 0, unique: 0, firstAt: NaN, lastAt: NaN };
      if (p.unique >= expected) return p;
      const t = now();
      if (p.unique > last) {
        last = p.unique;
        progressAt = t;
      }
      const why =
        t - progressAt > limits.stallMs
          ? `no new one for ${Math.round(limits.stallMs / 1000)} s`
          : t - start > limits.maxMs
            ? `not within ${Math.round(limits.maxMs / 1000)} s`
            : undefined;
      if (why) throw new Error(`${what}: only ${p.unique} of ${expected} alarms (phase "${phase}") reached the sink, ${why}`);
      await sleep(expected - p.unique > 50_000 ? 250 : 25);
    }
  }
}
