/**
 * `tocsin test-method NAME --config FILE` as a user runs it (a child process): one labelled test
 * notification through the method, the answer printed, exit 0 when sent and 1 when not; secrets of the
 * method never printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './relay-process.ts';
import { startWebhookSink } from './webhook-sink.ts';
import { startFakePagerDuty } from '../support/fake-pagerduty.ts';

const TSX = import.meta.resolve('tsx');
const TOKEN = 'tm-secret-token-4d1c';

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'NODE_TEST_CONTEXT' && k !== 'TOCSIN_CONFIG') env[k] = v;
  // Asynchronous: the sink answering runs in this process.
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', TSX, join(REPO_ROOT, 'src', 'main.ts'), ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    p.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    p.once('close', (code: number | null) => resolve({ code, stdout, stderr }));
  });
}

test('test-method: sent (exit 0) with the labelled test alarm; a 400 is printed with the body (exit 1); the token never', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-tm-'));
  let answer = 200;
  const sink = await startWebhookSink({ behavior: () => (answer === 200 ? 200 : { status: answer, body: 'bad payload' }) });
  try {
    const file = join(dir, 'tocsin.yaml');
    writeFileSync(file, `methods:\n  hook: { type: webhook, url: ${JSON.stringify(sink.url)}, bearer_token: ${TOKEN} }\n`);
    const ok = await run(['test-method', 'hook', '--config', file]);
    assert.equal(ok.code, 0, ok.stderr);
    // The receiver's answer is printed after the status.
    assert.match(ok.stdout, /^hook \(webhook\): sent \(HTTP 200\): \S.*\n$/);
    const got = sink.requests[0]!;
    assert.equal(got.envelope?.alarm?.labels?.tocsin_test, 'true');
    assert.equal(got.envelope?.alarm?.['name'], 'TocsinTestNotification');
    assert.equal(got.headers.authorization, `Bearer ${TOKEN}`);

    answer = 400;
    const bad = await run(['test-method', 'hook', '--config', file]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^hook \(webhook\): failed, permanent: HTTP 400: bad payload\n$/);
    for (const out of [ok.stdout, ok.stderr, bad.stdout, bad.stderr]) assert.ok(!out.includes(TOKEN));

    const unknown = await run(['test-method', 'pager', '--config', file]);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr, 'tocsin test-method: no method "pager"; configured: hook, log\n');
  } finally {
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('check-config: a broken template fails with the method, the part and the line (exit 1)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-tm-'));
  try {
    const file = join(dir, 'tocsin.yaml');
    writeFileSync(file, 'methods:\n  chat:\n    type: slack\n    url: "https://hooks.slack.com/services/T0/B0/x"\n    template:\n      text: "ok\\n<%= nope(it.alarm.name) %>"\n');
    const r = await run(['check-config', '--config', file]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'tocsin: invalid configuration:\n  methods.chat.template.text: line 2: unknown helper nope(); the helpers are json, truncate, time, label, severityEmoji\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('test-method on a pagerduty method: the test incident is triggered, then resolved at once; the answers printed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tocsin-tm-'));
  const pd = await startFakePagerDuty();
  try {
    const key = 'R0123456789ABCDEFGHIJKLMNOPQRSTU';
    const file = join(dir, 'tocsin.yaml');
    writeFileSync(file, `methods:\n  pager: { type: pagerduty, url: ${JSON.stringify(pd.url)}, routing_key: ${key} }\n`);
    const r = await run(['test-method', 'pager', '--config', file]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^pager \(pagerduty\): sent \(HTTP 202\): \{"status":"success".*\}$/);
    assert.match(lines[1]!, /^pager \(pagerduty\), resolving the test: sent \(HTTP 202\)/);
    assert.equal(pd.incidents.length, 1);
    assert.equal(pd.incidents[0]!.status, 'resolved', 'no test incident left open');
    assert.deepEqual(pd.violations, []);
    assert.ok(!r.stdout.includes(key) && !r.stderr.includes(key));
  } finally {
    await pd.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
