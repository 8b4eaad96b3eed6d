/**
 * The Kafka benchmark's producer (its own process, forked by scripts/bench-kafka.ts, so that producing does
 * not stall the orchestrator's sampling): sends {ready: true}, then for each ProduceJob it is sent over IPC
 * fills the topic (kafka-client's produceAlarms) and answers with the ProduceResult, or {error}.
 */
import { benchKafka, produceAlarms, type ProduceResult } from './kafka-client.ts';

export interface ProduceJob {
  readonly bootstrap: string;
  readonly topic: string;
  readonly total: number;
  readonly batch: number;
  readonly phase: string;
}

export type ProduceAnswer = ProduceResult | { readonly error: string };

process.on('message', (job: ProduceJob) => {
  void (async () => {
    const kafka = benchKafka(job.bootstrap);
    const admin = kafka.admin();
    let answer: ProduceAnswer;
    try {
      await admin.connect();
      answer = await produceAlarms(kafka, admin, job.topic, job.total, job.batch, job.phase);
    } catch (e) {
      answer = { error: (e as Error).message };
    } finally {
      await admin.disconnect().catch(() => {});
    }
    process.send!(answer);
  })();
});
process.send!({ ready: true });
