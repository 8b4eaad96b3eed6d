/**
 * The OpenAPI document at /api/v1/openapi.json: served without a token, a valid OpenAPI 3.1 document
 * (checked by @seriousme/openapi-schema-validator against the official schema), and it describes every
 * route of the app (walked from the Hono app's routes) with its method, including the ingest endpoints of
 * every format, with their request bodies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Validator } from '@seriousme/openapi-schema-validator';
import { createHarness } from './app-harness.ts';
import { INGEST_FORMATS } from '../../src/ingest/formats.ts';
import { openApiPath } from '../../src/http/openapi.ts';

const ADMIN = 'admin-token-openapi-1';

type Doc = { openapi: string; paths: Record<string, Record<string, { security?: unknown; requestBody?: unknown; parameters?: { name: string; in: string }[] }>>; components: { securitySchemes: Record<string, unknown> } };

test('the OpenAPI document is valid OpenAPI 3.1 and lists every route of the app', async () => {
  const h = await createHarness({
    yaml: [
      'sources:',
      '  app: { token: src-openapi-1 }',
      'admin:',
      `  tokens: [${ADMIN}]`,
      'methods:',
      '  out: { type: log }',
      'routes:',
      '  - methods: [out]',
      'checks:',
      '  nightly: { period: 1h, grace: 5m }',
      'pings:',
      '  ping_key: openapi-ping-key',
      '',
    ].join('\n'),
  });
  try {
    const r = await h.get('/api/v1/openapi.json');
    assert.equal(r.status, 200, r.text);
    const doc = r.json as Doc;
    assert.equal(doc.openapi, '3.1.0');

    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Record<string, unknown>);
    assert.equal(validator.version, '3.1');
    assert.ok(result.valid, JSON.stringify(result.errors, null, 2)?.slice(0, 4000));

    // Every route of the app (middleware entries and catch-alls aside) is in the document.
    const routes = h.app.http.routes.filter((x) => x.method !== 'ALL');
    assert.ok(routes.length > 30, `${routes.length} routes`);
    const missing: string[] = [];
    for (const { method, path } of routes) {
      const p = openApiPath(path);
      if (!doc.paths[p]?.[method.toLowerCase()]) missing.push(`${method} ${path}`);
    }
    assert.deepEqual([...new Set(missing)], [], 'routes missing from the document');
    // The catch-all ping route is described by its forms.
    assert.ok(h.app.http.routes.some((x) => x.method === 'ALL' && x.path === '/ping/*'));
    for (const p of ['/ping/{uuid}', '/ping/{ping_key}/{slug}']) for (const m of ['get', 'head', 'post']) assert.ok(doc.paths[p]?.[m], `${m} ${p}`);

    // Ingest: every format, with its body; the admin API under the admin scheme; the document itself open.
    for (const f of INGEST_FORMATS) {
      const op = doc.paths[openApiPath(f.path)]?.post;
      assert.ok(op?.requestBody, `${f.name} ${f.path}`);
    }
    for (const [path, method] of [['/api/v1/dead-letters/replay', 'post'], ['/api/v1/alarms', 'get'], ['/-/reload', 'post'], ['/api/v1/silences', 'post']] as const) {
      assert.deepEqual(doc.paths[path]?.[method]?.security, [{ adminToken: [] }], `${method} ${path}`);
    }
    assert.equal(doc.paths['/api/v1/openapi.json']?.get?.security, undefined);
    assert.ok(doc.components.securitySchemes.adminToken);
    const listParams = (doc.paths['/api/v1/alarms']!.get!.parameters ?? []).map((p) => `${p.in}:${p.name}`);
    for (const p of ['query:state', 'query:source', 'query:name', 'query:since', 'query:until', 'query:limit', 'query:cursor']) assert.ok(listParams.includes(p), p);
    assert.ok(!r.text.includes(ADMIN) && !r.text.includes('openapi-ping-key'), 'no secret in the document');
  } finally {
    await h.cleanup();
  }
});

test('the document validates the requests it describes: the same schema refuses the same body', async () => {
  const h = await createHarness({ yaml: `admin:\n  tokens: [${ADMIN}]\nmethods:\n  out: { type: log }\nroutes:\n  - methods: [out]\n` });
  try {
    const doc = (await h.get('/api/v1/openapi.json')).json as Doc & { components: { schemas: Record<string, { properties?: Record<string, unknown>; additionalProperties?: unknown }> } };
    const action = doc.components.schemas.DeadLetterAction!;
    assert.deepEqual(Object.keys(action.properties ?? {}).sort(), ['by', 'filter', 'ids', 'limit']);
    assert.equal(action.additionalProperties, false, 'unknown fields are refused, as the route does');
    const r = await h.post('/api/v1/dead-letters/replay', { ids: ['n_1'], colour: 'red' }, { authorization: `Bearer ${ADMIN}` });
    assert.equal(r.status, 400);
    assert.equal(r.json.field, 'colour');
  } finally {
    await h.cleanup();
  }
});
