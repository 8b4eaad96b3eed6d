import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runtimeName } from './detect.ts';
import { BetterSqliteShape, type DriverConnection } from './sqlite-adapter.ts';

// The better-sqlite3 shape over this runtime's driver: bun:sqlite on Bun, node:sqlite on Deno, and on
// Node better-sqlite3 itself behind the driver interface (so the adapter's own logic runs everywhere).
// scripts/run-tests.mjs runs this file on all three runtimes.
async function connector(): Promise<(file: string) => DriverConnection> {
  switch (runtimeName()) {
    case 'bun':
      return (await import('./sqlite-bun.ts')).connectBun;
    case 'deno':
      return (await import('./sqlite-builtin.ts')).loadBuiltinConnector();
    case 'node':
      return (await import('./sqlite-node.ts')).connectBetterSqlite3;
  }
}
const connect = await connector();

function open(): BetterSqliteShape {
  const c = new BetterSqliteShape(connect(':memory:'));
  c.exec('PRAGMA foreign_keys = ON');
  c.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY)');
  c.exec('CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)');
  return c;
}
const count = (c: BetterSqliteShape, table: string) => (c.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

test(`${runtimeName()}: statements answer in better-sqlite3's shapes`, () => {
  const c = open();
  const ins = c.prepare('INSERT INTO parent (id) VALUES (?)');
  assert.deepEqual({ ...ins.run(7) }, { changes: 1, lastInsertRowid: 7 });
  ins.run(8);
  const sel = c.prepare('SELECT id, id * 2 AS twice FROM parent ORDER BY id');
  assert.deepEqual(sel.all(), [{ id: 7, twice: 14 }, { id: 8, twice: 16 }]);
  assert.deepEqual(sel.get(), { id: 7, twice: 14 });
  assert.deepEqual(sel.raw().all(), [[7, 14], [8, 16]]);
  assert.deepEqual(sel.raw().get(), [7, 14]);
  const none = c.prepare('SELECT id FROM parent WHERE id = ?');
  assert.equal(none.get(99), undefined);
  assert.equal(none.raw().get(99), undefined);
  // Columns of the same name stay apart in raw rows (drizzle reads joins this way).
  assert.deepEqual(c.prepare('SELECT 1 AS a, 2 AS a').raw().get(), [1, 2]);
});

test(`${runtimeName()}: a transaction commits; a nested one that throws rolls back only its own work`, () => {
  const c = open();
  const ins = c.prepare('INSERT INTO parent (id) VALUES (?)');
  const result = c.transaction(() => {
    ins.run(1);
    assert.throws(
      () =>
        c.transaction(() => {
          ins.run(2);
          throw new Error('inner');
        })(),
      /inner/,
    );
    ins.run(3);
    return 'done';
  }).immediate();
  assert.equal(result, 'done');
  assert.deepEqual(c.prepare('SELECT id FROM parent ORDER BY id').raw().all(), [[1], [3]]);
});

test(`${runtimeName()}: a throwing transaction rolls back and leaves no transaction open`, () => {
  const c = open();
  const ins = c.prepare('INSERT INTO parent (id) VALUES (?)');
  assert.throws(() => c.transaction(() => { ins.run(1); throw new Error('boom'); })(), /boom/);
  assert.equal(count(c, 'parent'), 0);
  c.transaction(() => ins.run(2))(); // BEGIN works again
  assert.equal(count(c, 'parent'), 1);
});

test(`${runtimeName()}: a failing COMMIT throws, keeps nothing, and leaves no transaction open`, () => {
  const c = open();
  // The deferred foreign key is checked at COMMIT: the orphan row makes COMMIT itself fail.
  assert.throws(() => c.transaction(() => c.prepare('INSERT INTO child (id, parent) VALUES (1, 42)').run())(), /FOREIGN KEY/i);
  assert.equal(count(c, 'child'), 0);
  c.transaction(() => c.prepare('INSERT INTO parent (id) VALUES (42)').run())();
  assert.equal(count(c, 'parent'), 1);
});

test(`${runtimeName()}: a transaction function that returns a promise is refused and rolled back`, () => {
  const c = open();
  const ins = c.prepare('INSERT INTO parent (id) VALUES (?)');
  const pending = Promise.resolve();
  assert.throws(() => c.transaction(() => { ins.run(1); return pending; })(), /cannot return a promise/);
  assert.equal(count(c, 'parent'), 0);
});
