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
  readonly #checks = new Map<string, { check: ReadinessCheck; affects: (reason: string) => boolean }>();

  /**
   * `affectsReadiness`: false, or false for some reasons: the check is shown in `checks` but does not
   * make the relay not ready (a canary's state, unless the config says otherwise).
   */
  add(name: string, check: ReadinessCheck, opts: { readonly affectsReadiness?: boolean | ((reason: string) => boolean) } = {}): void {
    if (this.#checks.has(name)) throw new Error(`readiness check ${name} is registered twice`);
    const a = opts.affectsReadiness ?? true;
    this.#checks.set(name, { check, affects: typeof a === 'function' ? a : () => a });
  }

  check(): ReadinessReport {
    const checks: Record<string, string> = {};
    let error: string | undefined;
    for (const [name, { check, affects }] of this.#checks) {
      let reason: string | undefined;
      try {
        reason = check();
      } catch (e) {
        reason = e instanceof Error ? e.message : String(e);
      }
      checks[name] = reason ?? 'ok';
      if (reason !== undefined && affects(reason)) error ??= `${name}: ${reason}`;
    }
    return error === undefined ? { ready: true, checks } : { ready: false, checks, error };
  }
}
