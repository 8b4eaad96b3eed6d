/**
 * Tests that need something this machine may lack (root to mount a file system, a Debian package) skip
 * loudly when it is missing, and fail instead when TOCSIN_REQUIRE_PEERS=1 (what .ci/run sets: CI installs
 * every peer, so a skip there is a failure).
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';

/** `missing`: why the test cannot run here, or undefined when it can. Returns whether it may go on. */
export function needs(t: TestContext, missing: string | undefined): boolean {
  if (missing === undefined) return true;
  if (process.env.TOCSIN_REQUIRE_PEERS === '1') assert.fail(`cannot run (TOCSIN_REQUIRE_PEERS=1): ${missing}`);
  process.stderr.write(`\n*** SKIPPED: ${t.name}: ${missing}\n`);
  t.skip(missing);
  return false;
}
