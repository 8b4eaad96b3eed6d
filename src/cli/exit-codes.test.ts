import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EXIT, EXIT_CODES_TEXT, exitCodeOf } from './exit-codes.ts';

test('a failed request maps to one code: unreachable 3, 401/403 4, any other answer 1', () => {
  assert.equal(exitCodeOf({}), EXIT.unreachable);
  assert.equal(exitCodeOf({ status: 401 }), EXIT.auth);
  assert.equal(exitCodeOf({ status: 403 }), EXIT.auth);
  for (const status of [400, 404, 409, 500, 503, 200]) assert.equal(exitCodeOf({ status }), EXIT.failed, String(status));
  assert.deepEqual(Object.values(EXIT), [0, 1, 2, 3, 4]);
});

test('tocsin --help prints the table of exit-codes.ts', () => {
  const main = fileURLToPath(new URL('../main.ts', import.meta.url));
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, '--help'], { encoding: 'utf8', env, cwd: fileURLToPath(new URL('../..', import.meta.url)) });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.endsWith(`\n${EXIT_CODES_TEXT}`), r.stdout);
});
