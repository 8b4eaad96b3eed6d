/**
 * An in-memory ChecksApi for the tests of the admin API's checks (src/http/check-admin-routes.test.ts,
 * test/e2e/check-cli.test.ts): one file check (read-only), runtime checks added through the API; the next
 * change can be made to throw, the next add to be refused.
 */
import type { CheckChange, CheckView, ChecksApi, NewCheck } from '../../src/app/checks-api.ts';

export const FILE_CHECK_UUID = '9c4d0000-0000-4000-8000-000000000001';

/** The view of a new check as the checks service answers it. */
export function checkView(input: NewCheck, origin: 'file' | 'api', uuid: string): CheckView {
  return {
    name: input.name,
    uuid,
    origin,
    ...(input.periodMs !== undefined && { period_ms: input.periodMs }),
    ...(input.schedule !== undefined && { schedule: input.schedule, tz: input.tz ?? 'UTC' }),
    grace_ms: input.graceMs,
    labels: input.labels ?? {},
    paused: false,
    status: 'new',
    ping_path: `/ping/${uuid}`,
  };
}

export interface FakeChecks extends ChecksApi {
  readonly added: NewCheck[];
  /** Thrown by the next change (add, setPaused, remove). */
  failNext?: Error;
  /** Returned by the next add. */
  issuesNext?: { path: string; message: string }[];
}

export interface FakeChecksOptions {
  /** The file check; default: nightly-backup, new, never pinged. */
  readonly fileCheck?: CheckView;
  /** The issues an add is refused with, if any. */
  readonly validate?: (input: NewCheck) => { path: string; message: string }[] | undefined;
}

export function fakeChecks(opts: FakeChecksOptions = {}): FakeChecks {
  const checks = new Map<string, CheckView>();
  const file = opts.fileCheck
    ?? checkView({ name: 'nightly-backup', schedule: '0 3 * * *', tz: 'Europe/Berlin', graceMs: 3_600_000, labels: { team: 'storage' } }, 'file', FILE_CHECK_UUID);
  checks.set(file.name, file);
  let n = 1;
  const failing = () => {
    const fail = fake.failNext;
    fake.failNext = undefined;
    if (fail) throw fail;
  };
  const change = (name: string, f: (c: CheckView) => void): CheckChange => {
    failing();
    const c = checks.get(name);
    if (!c) return 'unknown';
    if (c.origin === 'file') return 'read_only';
    f(c);
    return 'ok';
  };
  const fake: FakeChecks = {
    added: [],
    list: () => [...checks.values()],
    get: (name) => checks.get(name),
    async add(input) {
      failing();
      fake.added.push(input);
      const issues = fake.issuesNext ?? opts.validate?.(input);
      fake.issuesNext = undefined;
      if (issues) return { ok: false, issues };
      const check = checkView(input, 'api', input.uuid ?? `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`);
      checks.set(input.name, check);
      return { ok: true, check };
    },
    async setPaused(name, paused) {
      return change(name, (c) => checks.set(name, { ...c, paused, status: paused ? 'paused' : 'new' }));
    },
    async remove(name) {
      return change(name, () => checks.delete(name));
    },
  };
  return fake;
}
