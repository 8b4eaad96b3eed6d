import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderChannelDocs, withChannelDocs } from '../scripts/docs.ts';
import { CHANNELS } from '../src/channels/registry.ts';

const README = new URL('../README.md', import.meta.url);

test('the README\'s channel reference is the one derived from the channel registry (npm run docs)', () => {
  const readme = readFileSync(README, 'utf8');
  assert.equal(withChannelDocs(readme), readme, 'README.md is out of date: run npm run docs');
});

test('every registered channel has a section naming each of its settings and secrets', () => {
  const docs = renderChannelDocs();
  for (const c of CHANNELS) {
    assert.ok(docs.includes(`#### \`${c.type}\``), c.type);
    for (const k of Object.keys(c.secrets)) assert.ok(docs.includes(`| \`${k}\` / \`${k}_file\` |`), `${c.type}.${k}`);
    for (const k of Object.keys(c.fields.shape)) assert.ok(docs.includes(`| \`${k}\` |`), `${c.type}.${k}`);
  }
});

test("the README's heartbeat canary example is a valid config, as the section describes it", async () => {
  const { parseConfig } = await import('../src/config/parse.ts');
  const readme = readFileSync(README, 'utf8');
  const section = readme.slice(readme.indexOf('### An example with healthchecks.io'), readme.indexOf('### What each ping means'));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(yaml, 'the example is in the section');
  const files: Record<string, string> = { '/etc/tocsin/path.ping-url': 'https://hc-ping.com/0b5f3e1a-8d2b-4c7e-9a10-2b3c4d5e6f70\n' };
  const config = parseConfig(yaml, { OPS_HOOK_URL: 'https://hooks.example.com/ops' }, (p) => {
    if (!(p in files)) throw new Error(`ENOENT: ${p}`);
    return files[p]!;
  });
  const [canary] = config.canaries;
  assert.equal(canary?.name, 'path');
  assert.deepEqual(canary?.methods, ['ops-hook']);
  assert.equal(canary?.intervalMs, 60_000);
  assert.equal(canary?.maxLatencyMs, 30_000);
  assert.equal(canary?.pingUrl.reveal(), 'https://hc-ping.com/0b5f3e1a-8d2b-4c7e-9a10-2b3c4d5e6f70');
  assert.deepEqual(canary?.labels, { team: 'platform' });
});
