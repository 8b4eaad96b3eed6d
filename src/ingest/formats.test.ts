import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { sha256Hex } from '../lib/hash.ts';
import { IngestError } from './errors.ts';
import type { IngestFormat, ParseContext } from './format.ts';
import { INGEST_FORMATS, ingestFormat, parseRequest } from './formats.ts';
import { defineFormat } from './format.ts';
import * as z from 'zod';

const ZEEBE_RECORD = readFileSync(new URL('../../test/fixtures/zeebe/incident-alerter-readme-created-0.22.json', import.meta.url), 'utf8');

const ctx = (over: Partial<ParseContext> = {}): ParseContext => ({
  source: 'test', sourceIsAuthenticated: false, now: 1_700_000_000_000, header: () => undefined, param: () => undefined, hash: sha256Hex, ...over,
});

test('every format has a unique name and path, and options that parse from nothing', () => {
  assert.deepEqual(INGEST_FORMATS.map((f) => [f.name, f.path]), [['generic', '/v1/alarms'], ['zeebe', '/v1/zeebe'], ['monasca', '/v1/monasca'], ['prometheus', '/api/v2/alerts'], ['alertmanager', '/v1/alertmanager'], ['grafana', '/v1/grafana'], ['cloudevents', '/v1/cloudevents']]);
  for (const f of INGEST_FORMATS) assert.equal(f.options.safeParse({}).success, true, f.name);
  assert.deepEqual(ingestFormat('zeebe')!.options.parse({}), { severity: 'error' });
  assert.equal(ingestFormat('nope'), undefined);
});

test('max_batch is enforced after parsing, for every format (Zeebe arrays included)', () => {
  const zeebe = ingestFormat('zeebe')!;
  const three = `[${ZEEBE_RECORD},${ZEEBE_RECORD},${ZEEBE_RECORD}]`;
  assert.equal(parseRequest(zeebe, three, ctx(), { severity: 'error' }, 3).kind, 'alarms');
  assert.throws(() => parseRequest(zeebe, three, ctx(), { severity: 'error' }, 2), (e: unknown) => {
    assert.ok(e instanceof IngestError);
    assert.equal(e.status, 413);
    assert.equal(e.field, 'body');
    assert.equal(e.message, 'too many alarms in one request: 3 (max_batch is 2)');
    return true;
  });
  const generic = ingestFormat('generic')!;
  assert.throws(() => parseRequest(generic, '[{"name":"A"},{"name":"B"}]', ctx(), {}, 1), /too many alarms in one request: 2 \(max_batch is 1\)/);
});

test('a format\'s options reach its parser: zeebe severity', () => {
  const out = parseRequest(ingestFormat('zeebe')!, ZEEBE_RECORD, ctx(), { severity: 'critical' }, 10);
  assert.equal(out.kind === 'alarms' && out.items[0]!.alarm.severity, 'critical');
});

test('the parse context carries headers, path parameters and the time of arrival', () => {
  const seen: unknown[] = [];
  const echo: IngestFormat = defineFormat({
    name: 'echo', path: '/v1/echo/:name', defaultSource: 'echo', options: z.strictObject({}),
    parse: (_body, c) => {
      seen.push([c.header('ce-type'), c.param('name'), c.now]);
      return { kind: 'ignored', reason: 'test' };
    },
  });
  parseRequest(echo, '{}', ctx({ header: (n) => (n === 'ce-type' ? 'com.example.alert' : undefined), param: (n) => (n === 'name' ? 'x' : undefined) }), {}, 1);
  assert.deepEqual(seen, [['com.example.alert', 'x', 1_700_000_000_000]]);
});
