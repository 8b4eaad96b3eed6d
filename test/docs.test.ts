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
