/**
 * @module lib/readiness
 * The readiness registry behind /readyz: each service contributes a named check that returns undefined
 * when ready, or the reason it is not.
 */
export type ReadinessCheck = () => string | undefined;

export interface ReadinessReport {
  readonly ready: boolean;
  /** Every check by name: "ok" or the reason. */
  readonly checks: Readonly<Record<string, string>>;
  /** The first failing check's reason ("<name>: <reason>"), when not ready. */
  readonly error?: string;
}

export class Readiness {
  readonly #checks = new Map<string, ReadinessCheck>();

  add(name: string, check: ReadinessCheck): void {
    if (this.#checks.has(name)) throw new Error(`readiness check ${name} is registered twice`);
    this.#checks.set(name, check);
  }

  check(): ReadinessReport {
    const checks: Record<string, string> = {};
    let error: string | undefined;
    for (const [name, check] of this.#checks) {
      let reason: string | undefined;
      try {
        reason = check();
      } catch (e) {
        reason = e instanceof Error ? e.message : String(e);
      }
      checks[name] = reason ?? 'ok';
      if (reason !== undefined) error ??= `${name}: ${reason}`;
    }
    return error === undefined ? { ready: true, checks } : { ready: false, checks, error };
  }
}
