import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BAR_WIDTH, createProgress, progressLine } from './progress.ts';

test('progressLine: the bar fills with done/total; a total below done shows done', () => {
  assert.equal(progressLine('replayed', 0, 10, 10), '[----------] replayed 0/10');
  assert.equal(progressLine('replayed', 1200, 5000, 10), '[##--------] replayed 1200/5000');
  assert.equal(progressLine('replayed', 5000, 5000, 10), '[##########] replayed 5000/5000');
  assert.equal(progressLine('discarded', 7, 3, 10), '[##########] discarded 7/7');
  assert.equal(progressLine('discarded', 0, 0, 4), '[####] discarded 0/0');
});

test('on a terminal one bar is redrawn in place and ended by finish()', () => {
  const writes: string[] = [];
  const p = createProgress('replayed', { write: (t) => writes.push(t), isTTY: true });
  p.update(1000, 2500);
  p.update(2000, 2500);
  p.update(2500, 2500);
  p.finish();
  assert.equal(writes.length, 4);
  for (const w of writes.slice(0, 3)) assert.ok(w.startsWith('\r\x1b[2K['), JSON.stringify(w));
  assert.ok(writes[2]!.endsWith(`] replayed 2500/2500`));
  assert.ok(writes[2]!.includes('#'.repeat(BAR_WIDTH)));
  assert.equal(writes[3], '\n');
});

test('elsewhere one plain line per update, and finish() writes nothing', () => {
  const writes: string[] = [];
  const p = createProgress('discarded', { write: (t) => writes.push(t), isTTY: false });
  p.update(1000, 1500);
  p.update(1500, 1500);
  p.finish();
  assert.deepEqual(writes, ['discarded 1000/1500\n', 'discarded 1500/1500\n']);
});
