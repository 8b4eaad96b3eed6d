/**
 * @module lib/service
 * A long-running part of the app (outbox housekeeping, the dispatcher, ingest, and later the canary,
 * the checks scheduler, the Kafka consumer): started in order, stopped in reverse order.
 */
export interface Service {
  readonly name: string;
  start(): void | Promise<void>;
  /** Finishes or hands back its work; resolves when stopped. */
  stop(): void | Promise<void>;
  /** Its readiness check for /readyz (named after the service): undefined when ready, else the reason. */
  readonly ready?: () => string | undefined;
}

export interface ServiceLog {
  error(fields: Record<string, unknown>, msg: string): void;
}

/** Starts the services in order; if one fails, those already started are stopped (reverse order) and the error rethrown. */
export async function startAll(services: readonly Service[], log: ServiceLog): Promise<void> {
  const started: Service[] = [];
  try {
    for (const s of services) {
      await s.start();
      started.push(s);
    }
  } catch (e) {
    await stopAll(started, log);
    throw e;
  }
}

/** Stops the services in reverse order; a failing stop is logged and the others still stop. */
export async function stopAll(services: readonly Service[], log: ServiceLog): Promise<void> {
  for (const s of [...services].reverse()) {
    try {
      await s.stop();
    } catch (e) {
      log.error({ service: s.name, err: e instanceof Error ? e.message : String(e) }, 'service failed to stop cleanly');
    }
  }
}
