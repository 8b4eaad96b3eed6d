import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './index.ts';
import { configIssues, fileReader } from '../../test/support/config-issues.ts';

const readFile = fileReader({});
const method = (extra: string) => `methods:\n  h:\n    type: webhook\n    url: "https://hooks.example/x"\n${extra}`;

test('rate_limit: per method, with its burst (default: one second of sends, at least one); off; none by default for a webhook', () => {
  const limit = (extra: string) => parseConfig(method(extra), {}, readFile).methods.h!.delivery.rateLimit;
  assert.deepEqual(limit('    rate_limit: 1/s\n'), { perSecond: 1, burst: 1 });
  assert.deepEqual(limit('    rate_limit: 120/min\n    rate_burst: 10\n'), { perSecond: 2, burst: 10 });
  assert.deepEqual(limit('    rate_limit: 5/s\n'), { perSecond: 5, burst: 5 });
  assert.equal(limit('    rate_limit: "off"\n'), undefined);
  assert.equal(limit(''), undefined);
});

test('rate_limit: errors name the field and the fix', () => {
  assert.deepEqual(configIssues(method('    rate_limit: fast\n'), readFile), ['methods.h.rate_limit: must be a rate like "1/s", "120/min" or "10/h", or "off"']);
  assert.deepEqual(configIssues(method('    rate_burst: 5\n'), readFile), ['methods.h.rate_burst: needs rate_limit (this channel has no default rate limit)']);
  assert.deepEqual(configIssues(method('    rate_limit: "off"\n    rate_burst: 5\n'), readFile), ['methods.h.rate_burst: has no effect with rate_limit: off']);
});
