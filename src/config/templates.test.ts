import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './index.ts';
import { configIssues, fileReader } from '../../test/support/config-issues.ts';
import { createChannel } from '../channels/registry.ts';
import { sampleAlarm } from '../render/template.ts';
import type { HttpRequest } from '../channels/types.ts';

const files: Record<string, string> = { '/t/body.eta': '{"alert": <%~ json(it.alarm.name) %>, "state": <%~ json(it.status) %>}' };
const readFile = fileReader(files);
const issues = (yaml: string): string[] => configIssues(yaml, readFile);
const hook = (template: string) => `methods:\n  h:\n    type: webhook\n    url: "https://hooks.example/x"\n    template: ${template}\n`;

test('template errors name the method, the part and the line; checked at startup with a sample alarm', () => {
  assert.deepEqual(issues(hook('{ body: "{\\"a\\":\\n <%= nope() %>}" }')), ['methods.h.template.body: line 2: unknown helper nope(); the helpers are json, truncate, time, label, severityEmoji']);
  assert.deepEqual(issues(hook('{ body: "{\\"a\\": <%= it.alarm.name }" }')), ['methods.h.template.body: unclosed tag at line 1 col 7']);
  const notJson = issues(hook('{ body: "<%= it.alarm.name %>" }'));
  assert.equal(notJson.length, 1);
  assert.match(notJson[0]!, /^methods\.h\.template\.body: the output is not JSON \(.+\) for a firing alarm$/);
  assert.deepEqual(issues(hook('{ text: "hi" }')), ['methods.h.template.text: the webhook channel has no text template; it uses: body']);
  assert.deepEqual(issues('methods:\n  l:\n    type: log\n    template: { text: "x" }\n'), ['methods.l.template.text: the log channel has no text template; it has none']);
  assert.deepEqual(issues(hook('{ body: "{}", body_file: /t/body.eta }')), ['methods.h.template.body: set at most one of body or body_file']);
  assert.deepEqual(issues(hook('{ body_file: /t/none.eta }')), ['methods.h.template.body_file: cannot read /t/none.eta: ENOENT: no such file or directory']);
  assert.deepEqual(issues('templates: { timezone: Mars/Olympus }'), ['templates.timezone: unknown time zone "Mars/Olympus"; use an IANA name like UTC or Europe/Berlin']);
});

test('a webhook with template.body (from a file) sends the rendered JSON; without one, the envelope', async () => {
  const c = parseConfig(`${hook('{ body_file: /t/body.eta }')}templates: { timezone: Europe/Berlin }\n`, {}, readFile);
  assert.equal(c.methods.h!.timezone, 'Europe/Berlin');
  const sent: HttpRequest[] = [];
  const deps = { http: async (req: HttpRequest) => (sent.push(req), { status: 200, header: () => undefined, bodyExcerpt: '' }), clock: { now: () => 0 }, writeLine: () => {} };
  const d = (status: 'firing' | 'resolved') => ({ notificationId: 'n1', attempt: 1, method: 'h', alarms: [sampleAlarm(status)], createdAt: 0, remoteRefs: {} });
  const channel = createChannel(c.methods.h!, deps);
  assert.equal((await channel.send(d('resolved'), new AbortController().signal)).outcome, 'sent');
  assert.equal(sent[0]!.body, '{"alert": "SampleAlarm", "state": "resolved"}');
  const plain = parseConfig(hook('{}'), {}, readFile);
  await createChannel(plain.methods.h!, deps).send(d('firing'), new AbortController().signal);
  assert.equal(JSON.parse(sent[1]!.body).alarm.name, 'SampleAlarm');
});

test('a webhook body that is not JSON for a real alarm (a quote in its summary) fails permanently, saying so', async () => {
  const c = parseConfig(hook(`{ body: "{\\"s\\": \\"<%= it.alarm.summary %>\\"}" }`), {}, readFile);
  const deps = { http: async () => ({ status: 200, header: () => undefined, bodyExcerpt: '' }), clock: { now: () => 0 }, writeLine: () => {} };
  const alarm = { ...sampleAlarm('firing'), summary: 'disk "data" full' };
  const r = await createChannel(c.methods.h!, deps).send({ notificationId: 'n', attempt: 1, method: 'h', alarms: [alarm], createdAt: 0, remoteRefs: {} }, new AbortController().signal);
  assert.equal(r.outcome, 'permanent');
  assert.match(r.outcome === 'permanent' ? r.error : '', /^template error in body: the output is not JSON \(.+\); write values with <%~ json\(…\) %>$/);
});

test('a template that throws at send time dead-letters the notification with its error', async () => {
  const c = parseConfig(hook(`{ body: "<%~ it.alarm.labels.host === 'boom' ? it.x.y : json(it.alarm.name) %>" }`), {}, readFile);
  const deps = { http: async () => ({ status: 200, header: () => undefined, bodyExcerpt: '' }), clock: { now: () => 0 }, writeLine: () => {} };
  const alarm = { ...sampleAlarm('firing'), labels: { host: 'boom' } };
  const r = await createChannel(c.methods.h!, deps).send({ notificationId: 'n', attempt: 1, method: 'h', alarms: [alarm], createdAt: 0, remoteRefs: {} }, new AbortController().signal);
  assert.deepEqual(r, { outcome: 'permanent', error: "template error in body: line 1: Cannot read properties of undefined (reading 'y')" });
});
