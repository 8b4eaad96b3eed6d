import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './config/parse.ts';
import { checkReload, refuseOpenListen } from './serve.ts';

const parse = (yaml: string) => parseConfig(yaml, {}, () => '');
const OPEN = parse('listen: 0.0.0.0:9095\nsources: { ops: { token: tok-ops-1 } }');

test('an open listener needs sources (or --insecure-no-auth); loopback does not', () => {
  assert.match(refuseOpenListen(parse('listen: 0.0.0.0:9095'), false) ?? '', /^refusing to listen on 0\.0\.0\.0 without authentication/);
  assert.equal(refuseOpenListen(parse('listen: 0.0.0.0:9095'), true), undefined);
  assert.equal(refuseOpenListen(OPEN, false), undefined);
  assert.equal(refuseOpenListen(parse('listen: 127.0.0.1:9095'), false), undefined);
});

test('a reload that removes every source is refused while the relay is bound to an open address', () => {
  const next = parse('listen: 0.0.0.0:9095');
  assert.throws(() => checkReload(next, OPEN, false), (e: unknown) => {
    assert.equal((e as Error).name, 'ConfigError');
    assert.match((e as Error).message, /^sources: refusing to listen on 0\.0\.0\.0 without authentication/);
    return true;
  });
  assert.equal(checkReload(next, OPEN, true), next, 'allowed with --insecure-no-auth');
  // The running address decides, not the file's new listen (that one waits for a restart).
  assert.throws(() => checkReload(parse('listen: 127.0.0.1:9095'), OPEN, false), /sources: refusing/);
  const loopback = parse('listen: 127.0.0.1:9095\nsources: { ops: { token: tok-ops-1 } }');
  assert.equal(checkReload(parse('listen: 127.0.0.1:9095'), loopback, false).sources.length, 0);
});
