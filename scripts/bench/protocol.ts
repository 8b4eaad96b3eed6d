/**
 * What the benchmark orchestrators (scripts/bench.ts, scripts/bench-compare.ts) and their child processes
 * (scripts/bench/load.ts, scripts/bench/sink.ts) say to each other over IPC. Types only.
 */

/** Who receives the load: tocsin (`POST /v1/alarms`, 202) or Prometheus Alertmanager (`POST /api/v2/alerts`, 200). */
export type LoadFormat = 'tocsin' | 'alertmanager';

/** One job for the load generator; it answers with a LoadResult. */
export interface LoadJob {
  url: string;
  /** "max": closed loop, `concurrency` requests in flight, `total` alarms; "rate": open loop, `rate` alarms/s for `seconds`. */
  mode: 'max' | 'rate';
  /** Put on every alarm (label `phase`, annotation `bench_phase`): the sink counts each phase apart. */
  phase: string;
  total?: number;
  concurrency?: number;
  rate?: number;
  seconds?: number;
  /** Default tocsin. */
  format?: LoadFormat;
  /** Alarms per POST (default 1: a single alarm; more: a JSON array). */
  batch?: number;
}

export interface LoadResult {
  /** Alarms sent, accepted, refused or lost (a POST counts for all the alarms it carried). */
  sent: number;
  ok: number;
  failed: number;
  requests: number;
  /** First POST → last answer. */
  elapsedMs: number;
  /** When the first POST went out and the last answer came back (epoch ms, fractional). */
  startedAt: number;
  endedAt: number;
  /** Round trip of each POST, ms. */
  ack: number[];
  /** Answers by HTTP status ("error" for no answer). */
  statuses: Record<string, number>;
}

/** Sent to the sink; `stats` answers with SinkStats, `reset` with {reset: true}. */
export type SinkCommand =
  | { cmd: 'stats' }
  /** Forgets every delivery; from now on keeps end-to-end latencies of the alarms of `e2ePhases` (default ["latency"]). */
  | { cmd: 'reset'; e2ePhases?: string[] }
  | { cmd: 'exit' };

export interface PhaseStats {
  /** Alarms delivered (every copy) and distinct alarms. */
  count: number;
  unique: number;
  /** When the first and the last of them arrived (epoch ms, fractional). */
  firstAt: number;
  lastAt: number;
}

export interface SinkStats {
  /** Alarms delivered, every copy, and distinct ones, all phases together. */
  count: number;
  unique: number;
  /** The time of this answer (epoch ms). */
  lastAt: number;
  /** End-to-end latencies (ms) collected since the previous stats: the caller keeps them. */
  e2e: number[];
  /** By the alarms' phase (annotation bench_phase, else label phase). */
  phases: Record<string, PhaseStats>;
}
