import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTemplates, compileTemplate, createRenderer, formatTime, isTimeZone, sampleAlarm, templateVars, TemplateError, unknownHelpers, type ChannelTemplates } from './template.ts';

const vars = (status: 'firing' | 'resolved' = 'firing') => templateVars({ alarms: [sampleAlarm(status)], method: 'chat', attempt: 2, notificationId: 'ntf_1' });
const render = (src: string, opts: { html?: boolean; zone?: string; status?: 'firing' | 'resolved' } = {}) =>
  compileTemplate(src, { html: opts.html ?? false }).render(vars(opts.status), opts.zone ?? 'UTC');

test('variables: the alarm as the envelope writes it, all alarms, status, method, attempt, notification id', () => {
  assert.equal(render('<%= it.alarm.name %>|<%= it.alarm.dedup_key %>|<%= it.alarms.length %>|<%= it.status %>|<%= it.method %>|<%= it.attempt %>|<%= it.notification_id %>'), 'SampleAlarm|sample|1|firing|chat|2|ntf_1');
  assert.equal(render('<%= it.alarm.occurred_at %>'), '2026-01-01T00:00:00.000Z');
});

test('helpers: json, truncate, time (format and zone), label with a default, severityEmoji (✅ when resolved)', () => {
  assert.equal(render('<%~ json(it.alarm.labels) %>'), '{"host":"db-1","team":"sre"}');
  assert.equal(render('<%= truncate("abcdef", 4) %>|<%= truncate("abc", 4) %>'), 'abc…|abc');
  assert.equal(render('<%= time(it.alarm.occurred_at) %>'), '2026-01-01 00:00:00 UTC');
  assert.equal(render('<%= time(it.alarm.occurred_at) %>', { zone: 'Europe/Berlin' }), '2026-01-01 01:00:00 CET');
  assert.equal(render('<%= time(it.alarm.occurred_at, "HH:mm", "America/New_York") %>'), '19:00');
  assert.equal(render('<%= time(0, "iso") %>'), '1970-01-01T00:00:00.000Z');
  assert.equal(render('<%= label("host") %>|<%= label("nope", "-") %>|<%= label("nope") %>'), 'db-1|-|');
  assert.equal(render('<%= severityEmoji() %><%= severityEmoji("critical") %>'), '🟠🚨');
  assert.equal(render('<%= severityEmoji() %>', { status: 'resolved' }), '✅');
});

test('escaping: HTML parts escape interpolations; other parts do not; <%~ %> is raw', () => {
  const v = templateVars({ alarms: [{ ...sampleAlarm('firing'), name: '<b>x</b> & y' }], method: 'm', attempt: 1, notificationId: 'n' });
  assert.equal(compileTemplate('<p><%= it.alarm.name %></p>', { html: true }).render(v, 'UTC'), '<p>&lt;b&gt;x&lt;/b&gt; &amp; y</p>');
  assert.equal(compileTemplate('<%= it.alarm.name %>', { html: false }).render(v, 'UTC'), '<b>x</b> & y');
  assert.equal(compileTemplate('<%~ it.alarm.name %>', { html: true }).render(v, 'UTC'), '<b>x</b> & y');
});

test('errors name the line: an unclosed tag, an unknown helper, a throw; a JS syntax error says so', () => {
  assert.throws(() => compileTemplate('ok\n<%= it.alarm.name', { html: false }), (e: unknown) => e instanceof TemplateError && e.message === 'unclosed tag at line 2 col 1');
  assert.throws(() => render('a\nb\n<%= nope(1) %>'), { name: 'TemplateError', message: 'line 3: nope is not defined' });
  assert.throws(() => render('<% throw new Error("boom") %>'), { message: 'line 1: boom' });
  assert.throws(() => compileTemplate('<% if (x { %>', { html: false }), { message: "bad template syntax: Unexpected token '{'" });
  // In an interpolation, the line is found.
  assert.throws(() => compileTemplate('a\nb\n<%= it.alarm.name( %>', { html: false }), { message: /^line 3: bad template syntax: / });
});

test('unknown helpers are found without running the template, on every branch; helpers, globals, methods and own functions are fine', () => {
  assert.deepEqual(unknownHelpers('<% if (it.alarm.severity === "critical") { %>\n<%= shout(it.alarm.name) %><% } %>'), [
    'line 2: unknown helper shout(); the helpers are json, truncate, time, label, severityEmoji',
  ]);
  assert.deepEqual(unknownHelpers('<%= json(1) %><%= Math.max(1, 2) %><%= it.alarm.name.toUpperCase() %><%= "nope(" %><% const f = (a) => a; %><%= f(1) %><%= String(1) %><% function g() {} %><%= g() %>'), []);
  const channel: ChannelTemplates = { parts: ['text'], firing: {}, resolved: {} };
  assert.deepEqual(checkTemplates(channel, { text: '<% if (it.status === "resolved") { %><%= shout() %><% } %>' }, 'UTC'), [
    ['text', 'line 1: unknown helper shout(); the helpers are json, truncate, time, label, severityEmoji'],
  ]);
  // The sample alarm has details (empty): a template reading them passes.
  assert.deepEqual(checkTemplates(channel, { text: '<%= it.alarm.details.region ?? "-" %>' }, 'UTC'), []);
});

test('a renderer: the method\'s overrides over the channel\'s defaults, per status; parts without a template render nothing', () => {
  const channel: ChannelTemplates = { parts: ['title', 'text'], firing: { title: 'FIRING <%= it.alarm.name %>', text: 't' }, resolved: { title: 'RESOLVED <%= it.alarm.name %>' } };
  const d = (status: 'firing' | 'resolved') => ({ alarms: [sampleAlarm(status)], method: 'm', attempt: 1, notificationId: 'n' });
  const r = createRenderer(channel, {}, 'UTC');
  assert.deepEqual([r.render('title', d('firing')), r.render('title', d('resolved')), r.render('text', d('resolved')), r.render('html', d('firing'))], ['FIRING SampleAlarm', 'RESOLVED SampleAlarm', undefined, undefined]);
  const o = createRenderer(channel, { title: '<%= it.status %>!' }, 'UTC');
  assert.deepEqual([o.render('title', d('firing')), o.render('title', d('resolved'))], ['firing!', 'resolved!']);
});

test('checkTemplates: each part rendered with the sample alarm, firing and resolved; JSON parts must give JSON', () => {
  const channel: ChannelTemplates = { parts: ['body'], firing: {}, resolved: {}, json: ['body'] };
  assert.deepEqual(checkTemplates(channel, { body: '{"name": <%~ json(it.alarm.name) %>}' }, 'UTC'), []);
  const bad = checkTemplates(channel, { body: '{"name": <%= it.alarm.name %>}' }, 'UTC');
  assert.equal(bad.length, 1);
  assert.equal(bad[0]![0], 'body');
  assert.match(bad[0]![1], /^the output is not JSON \(.+\) for a firing alarm$/);
  assert.deepEqual(checkTemplates({ parts: ['text'], firing: {}, resolved: { text: '<%= it.alarm.nope.deeper %>' } }, {}, 'UTC'), [
    ['text', "line 1: Cannot read properties of undefined (reading 'deeper')"],
  ]);
});

test('time zones: IANA names are known, others are not; a time that is not one is printed as given', () => {
  assert.ok(isTimeZone('UTC') && isTimeZone('Europe/Berlin'));
  assert.ok(!isTimeZone('Mars/Olympus'));
  assert.equal(formatTime('not a time', 'iso', 'UTC'), 'not a time');
});
