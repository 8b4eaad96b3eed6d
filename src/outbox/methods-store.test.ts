import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openTestSqlite, sqliteDriver } from '../../test/support/sqlite-under-test.ts';
import { applyPragmas, type OpenDatabase } from './db.ts';
import { migrate } from './migrate.ts';
import { MIGRATIONS } from './migrations.generated.ts';
import { MethodsStore, type MethodRow } from './methods-store.ts';

const dirs: string[] = [];
const opened: OpenDatabase[] = [];
afterEach(() => {
  for (const o of opened.splice(0)) o.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(file: string): OpenDatabase {
  const o = openTestSqlite(file);
  opened.push(o);
  applyPragmas(o.db, 'FULL');
  migrate(o.db, 0);
  return o;
}

const row = (name: string, over: Partial<MethodRow> = {}): MethodRow => ({
  name,
  type: 'webhook',
  settings: JSON.stringify({ type: 'webhook', url: `https://hooks.example/${name}`, bearer_token: 'tok-secret-1' }),
  createdAt: 1000,
  createdBy: 'ops@host',
  updatedAt: 1000,
  ...over,
});

describe(`methods store (${sqliteDriver})`, () => {
  test('insert, get, all (by name) and remove round-trip every column, the settings text as given', () => {
    const store = new MethodsStore(open(':memory:'));
    store.insert(row('pager', { createdBy: null, createdAt: 5, updatedAt: 6 }));
    store.insert(row('alpha'));
    assert.deepEqual(store.all().map((r) => r.name), ['alpha', 'pager']);
    assert.deepEqual(store.get('pager'), row('pager', { createdBy: null, createdAt: 5, updatedAt: 6 }));
    assert.equal(store.get('alpha')!.settings, row('alpha').settings);
    assert.equal(store.get('nope'), undefined);
    assert.throws(() => store.insert(row('alpha')), /UNIQUE|constraint/i);
    assert.equal(store.remove('alpha'), true);
    assert.equal(store.remove('alpha'), false);
    assert.deepEqual(store.all().map((r) => r.name), ['pager']);
  });

  test('rows survive closing and reopening the database file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tocsin-methods-'));
    dirs.push(dir);
    const file = join(dir, 'tocsin.db');
    const first = open(file);
    new MethodsStore(first).insert(row('kept'));
    first.close();
    opened.splice(opened.indexOf(first), 1);
    assert.deepEqual(new MethodsStore(open(file)).all(), [row('kept')]);
  });

  test('the migration adds the table to a database of the previous schema', () => {
    const o = openTestSqlite(':memory:');
    opened.push(o);
    migrate(o.db, 0, MIGRATIONS.filter((m) => m.tag < '0006'));
    assert.throws(() => new MethodsStore(o), /no such table/);
    assert.deepEqual(migrate(o.db, 0), [MIGRATIONS.find((m) => m.tag === '0006_operate')!.id]);
    const store = new MethodsStore(o);
    store.insert(row('late'));
    assert.equal(store.all().length, 1);
  });
});
