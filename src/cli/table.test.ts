import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLEX_MIN, cell, renderFields, renderTable, styleFor } from './table.ts';

test('columns are as wide as their widest cell, two spaces apart; counts right-aligned; the last column unpadded', () => {
  const text = renderTable([{ header: 'NAME' }, { header: 'COUNT', right: true }, { header: 'NOTE' }], [['disk', 3, 'x'], ['network-down', 12, null]]);
  assert.equal(text, ['NAME          COUNT  NOTE', 'disk              3  x', 'network-down     12  -', ''].join('\n'));
});

test('a cell is one line: line breaks and terminal escapes become spaces, cut with … at the column max', () => {
  assert.equal(cell('a\nb\x1b[31mc'), 'a b [31mc');
  assert.equal(cell('abcdefghij', 5), 'abcd…');
  assert.equal(cell(undefined), '-');
  assert.equal(cell(''), '-');
  const text = renderTable([{ header: 'E', max: 4 }], [['overlong']]);
  assert.equal(text, 'E\nove…\n');
});

test('on a terminal the flexible column is cut to fit the width, never below FLEX_MIN', () => {
  const rows = [['id1', 'x'.repeat(100)]];
  const fit = renderTable([{ header: 'ID' }, { header: 'ERROR', flex: true }], rows, { width: 40 });
  for (const line of fit.trimEnd().split('\n')) assert.ok([...line].length <= 40, line);
  assert.match(fit, /x…$/m);
  const narrow = renderTable([{ header: 'ID' }, { header: 'ERROR', flex: true }], rows, { width: 5 });
  assert.equal([...narrow.split('\n')[1]!].length, 3 + 2 + FLEX_MIN);
  // Without a width (a pipe) nothing is cut.
  assert.ok(renderTable([{ header: 'ID' }, { header: 'ERROR', flex: true }], rows).includes('x'.repeat(100)));
});

test('the header is bold only with color; styleFor gives colour and width to a terminal alone', () => {
  assert.equal(renderTable([{ header: 'A' }], [['1']], { color: true }), '\x1b[1mA\x1b[0m\n1\n');
  assert.deepEqual(styleFor({ isTTY: false, columns: 80 }, {}), {});
  assert.deepEqual(styleFor({}, {}), {});
  assert.deepEqual(styleFor({ isTTY: true, columns: 80 }, {}), { color: true, width: 80 });
  assert.deepEqual(styleFor({ isTTY: true, columns: 80 }, { NO_COLOR: '1' }), { color: false, width: 80 });
  assert.deepEqual(styleFor({ isTTY: true }, { TERM: 'dumb' }), { color: false });
});

test('renderFields aligns the keys', () => {
  assert.equal(renderFields([['id', 'a1'], ['last error', 'HTTP 500'], ['sent', null]]), 'id:         a1\nlast error: HTTP 500\nsent:       -\n');
});
