import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { IngestError } from './errors.ts';
import type { ParsedAlarm, ParseOutcome } from './types.ts';
import { parseZeebe } from './zeebe.ts';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../test/fixtures/zeebe/${name}`, import.meta.url), 'utf8');
const LEGACY = fixture('incident-alerter-readme-created-0.22.json'); // every number in it is < 2^53
const ENVELOPE = fixture('protocol-record-envelope-8x.json');
const VALUE_8X = fixture('protocol-incident-value-8x.json');
const opts = { source: 'zeebe-prod', severity: 'error' } as const;

/** The 0.22 fixture with changes applied (safe to round-trip through JSON: its numbers are small). */
function legacy(change: (rec: Record<string, unknown>) => void): string {
  const rec = JSON.parse(LEGACY) as Record<string, unknown>;
  change(rec);
  return JSON.stringify(rec);
}

function alarms(out: ParseOutcome): ParsedAlarm[] {
  assert.equal(out.kind, 'alarms', out.kind === 'ignored' ? out.reason : '');
  return out.kind === 'alarms' ? [...out.items] : [];
}

function only(out: ParseOutcome): ParsedAlarm {
  const items = alarms(out);
  assert.equal(items.length, 1);
  return items[0]!;
}

function ignoredReason(out: ParseOutcome): string {
  assert.equal(out.kind, 'ignored');
  return out.kind === 'ignored' ? out.reason : '';
}

/** parseZeebe(body) throws a 400 IngestError with exactly this field and message (a RegExp only for texts not ours). */
function throwsOn(body: string, field: string, message: string | RegExp): void {
  assert.throws(
    () => parseZeebe(body, opts),
    (e: unknown) => {
      assert.ok(e instanceof IngestError, `not an IngestError: ${String(e)}`);
      assert.deepEqual({ field: e.field, status: e.status }, { field, status: 400 });
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    },
  );
}

/** The 0.22 fixture with changes applied to its `value`. */
const legacyValue = (change: (value: Record<string, unknown>) => void): string =>
  legacy((r) => change(r.value as Record<string, unknown>));

test('Zeebe 0.22 CREATED record → firing alarm with exact keys', () => {
  const { alarm, naturalKey } = only(parseZeebe(LEGACY, opts));
  assert.deepEqual(alarm, {
    source: 'zeebe-prod',
    name: 'ZeebeIncident',
    severity: 'error',
    status: 'firing',
    summary: 'IO_MAPPING_ERROR in create-incident at Task_194z010: No data found for query does_not_exist.',
    description: 'No data found for query does_not_exist.',
    labels: {
      bpmnProcessId: 'create-incident',
      elementId: 'Task_194z010',
      errorType: 'IO_MAPPING_ERROR',
      partitionId: '1',
    },
    annotations: {
      key: '2251799813685263',
      processInstanceKey: '2251799813685258',
      processDefinitionKey: '2251799813685249',
      elementInstanceKey: '2251799813685262',
      jobKey: '-1',
      variableScopeKey: '2251799813685262',
      position: '4294998496',
      errorMessage: 'No data found for query does_not_exist.',
    },
    occurredAt: 1580785145828,
    dedupKey: 'zeebe:1:2251799813685263',
    details: {
      partitionId: 1,
      value: {
        errorMessage: 'No data found for query does_not_exist.',
        bpmnProcessId: 'create-incident',
        workflowKey: '2251799813685249',
        elementId: 'Task_194z010',
        elementInstanceKey: '2251799813685262',
        workflowInstanceKey: '2251799813685258',
        errorType: 'IO_MAPPING_ERROR',
        jobKey: '-1',
        variableScopeKey: '2251799813685262',
      },
      sourceRecordPosition: '4294998144',
      position: '4294998496',
      recordType: 'EVENT',
      valueType: 'INCIDENT',
      timestamp: 1580785145828,
      intent: 'CREATED',
      rejectionType: 'NULL_VAL',
      rejectionReason: '',
      key: '2251799813685263',
    },
  });
  assert.equal(naturalKey, 'zeebe:1:2251799813685263:CREATED');
});

// Camunda 8 INCIDENT on partition 5, built from the 8.x envelope + incident value fixtures. Keys are
// (5 << 51) + n > 2^53: placeholders are stringified, then replaced by raw digits in the JSON text.
const P5 = 5n << 51n;
const BIG = {
  key: P5 + 123n,
  position: 9223372036854775807n,
  sourceRecordPosition: 9223372036854775806n,
  processDefinitionKey: P5 + 1n,
  processInstanceKey: P5 + 10n,
  elementInstanceKey: P5 + 34n,
  jobKey: P5 + 77n,
  parentInstance: P5 + 9n,
  parentDefinition: P5 + 2n,
};
const s = (n: bigint): string => n.toString();

function camunda8(intent: string): string {
  const envelope = JSON.parse(ENVELOPE) as Record<string, unknown>;
  const value = JSON.parse(VALUE_8X) as Record<string, unknown>;
  Object.assign(value, {
    processDefinitionKey: '@processDefinitionKey@',
    processInstanceKey: '@processInstanceKey@',
    elementInstanceKey: '@elementInstanceKey@',
    jobKey: '@jobKey@',
    variableScopeKey: '@elementInstanceKey@',
    elementInstancePath: [
      ['@parentInstance@', 2251799813685258],
      ['@processInstanceKey@', '@elementInstanceKey@'],
    ],
    processDefinitionPath: ['@parentDefinition@', '@processDefinitionKey@'],
  });
  Object.assign(envelope, {
    valueType: 'INCIDENT',
    recordType: 'EVENT',
    intent,
    partitionId: 5,
    key: '@key@',
    position: '@position@',
    sourceRecordPosition: '@sourceRecordPosition@',
    value,
  });
  const text = JSON.stringify(envelope).replace(/"@(\w+)@"/g, (_, name: keyof typeof BIG) => s(BIG[name]));
  assert.match(text, new RegExp(`"key":${s(BIG.key)},`)); // really a JSON number beyond 2^53
  return text;
}

test('Camunda 8 INCIDENT on partition 5 keeps keys beyond 2^53 digit for digit', () => {
  const { alarm, naturalKey } = only(parseZeebe(camunda8('CREATED'), opts));
  assert.equal(s(BIG.key), '11258999068426363');
  assert.equal(alarm.status, 'firing');
  assert.equal(alarm.summary, 'IO_MAPPING_ERROR in process at activity: error');
  assert.equal(alarm.description, 'error');
  assert.deepEqual(alarm.labels, {
    bpmnProcessId: 'process',
    elementId: 'activity',
    errorType: 'IO_MAPPING_ERROR',
    partitionId: '5',
    tenantId: '<default>',
  });
  assert.deepEqual(alarm.annotations, {
    key: '11258999068426363',
    processInstanceKey: '11258999068426250',
    processDefinitionKey: '11258999068426241',
    elementInstanceKey: '11258999068426274',
    jobKey: '11258999068426317',
    variableScopeKey: '11258999068426274',
    position: '9223372036854775807',
    errorMessage: 'error',
  });
  assert.equal(alarm.occurredAt, 2191);
  assert.equal(alarm.dedupKey, 'zeebe:5:11258999068426363');
  assert.equal(naturalKey, 'zeebe:5:11258999068426363:CREATED');
  assert.deepEqual(alarm.details, {
    valueType: 'INCIDENT',
    key: '11258999068426363',
    position: '9223372036854775807',
    timestamp: 2191,
    recordType: 'EVENT',
    intent: 'CREATED',
    partitionId: 5,
    rejectionType: 'INVALID_ARGUMENT',
    rejectionReason: 'fails',
    brokerVersion: '1.2.3',
    authorizations: { foo: 'bar' },
    recordVersion: 10,
    operationReference: 1234,
    batchOperationReference: 5678,
    sourceRecordPosition: '9223372036854775806',
    value: {
      errorType: 'IO_MAPPING_ERROR',
      errorMessage: 'error',
      bpmnProcessId: 'process',
      processDefinitionKey: '11258999068426241',
      processInstanceKey: '11258999068426250',
      elementId: 'activity',
      elementInstanceKey: '11258999068426274',
      jobKey: '11258999068426317',
      variableScopeKey: '11258999068426274',
      tenantId: '<default>',
      elementInstancePath: [
        ['11258999068426249', '2251799813685258'],
        ['11258999068426250', '11258999068426274'],
      ],
      processDefinitionPath: ['11258999068426242', '11258999068426241'],
      callingElementPath: ['12345', '67890'],
    },
  });
});

test('RESOLVED → resolved alarm with the same dedupKey and a different naturalKey', () => {
  for (const [created, resolved] of [
    [LEGACY, legacy((r) => (r.intent = 'RESOLVED'))],
    [camunda8('CREATED'), camunda8('RESOLVED')],
  ] as const) {
    const a = only(parseZeebe(created, opts));
    const b = only(parseZeebe(resolved, opts));
    assert.equal(a.alarm.status, 'firing');
    assert.equal(b.alarm.status, 'resolved');
    assert.equal(b.alarm.dedupKey, a.alarm.dedupKey);
    assert.notEqual(b.naturalKey, a.naturalKey);
    assert.match(b.naturalKey ?? '', /:RESOLVED$/);
  }
});

test('records that are not INCIDENT CREATED/RESOLVED events are ignored with a reason', () => {
  assert.equal(ignoredReason(parseZeebe(ENVELOPE, opts)), 'valueType DEPLOYMENT is not INCIDENT');
  const command = 'intent CREATE is a command; tocsin acts on CREATED and RESOLVED events';
  assert.equal(ignoredReason(parseZeebe(legacy((r) => Object.assign(r, { recordType: 'COMMAND', intent: 'CREATE' })), opts)), command);
  assert.equal(ignoredReason(parseZeebe(legacy((r) => Object.assign(r, { recordType: undefined, intent: 'CREATE' })), opts)), command);
  assert.equal(ignoredReason(parseZeebe(legacy((r) => (r.intent = 'MIGRATED')), opts)), 'intent MIGRATED is not CREATED or RESOLVED');
  assert.equal(
    ignoredReason(parseZeebe(legacy((r) => Object.assign(r, { recordType: 'COMMAND_REJECTION', intent: 'RESOLVE' })), opts)),
    'recordType COMMAND_REJECTION is not EVENT',
  );
});

test('a missing recordType counts as EVENT; keys may also arrive as decimal strings', () => {
  const body = legacy((r) => {
    delete r.recordType;
    r.key = '11258999068426363';
  });
  const { alarm } = only(parseZeebe(body, opts));
  assert.equal(alarm.status, 'firing');
  assert.equal(alarm.annotations.key, '11258999068426363');
  assert.equal(alarm.dedupKey, 'zeebe:1:11258999068426363');
});

test('invalid input throws IngestError(field, message); the message reads after the field', () => {
  throwsOn('{"partitionId": 1,', 'body', /^invalid JSON: /);
  throwsOn('"record"', 'body', 'must be a JSON object, got "record"');
  throwsOn('null', 'body', 'must be a JSON object, got null');
  // required strings
  throwsOn(legacy((r) => delete r.valueType), 'valueType', 'is required');
  throwsOn(legacy((r) => (r.valueType = null)), 'valueType', 'is required');
  throwsOn(legacy((r) => (r.valueType = '')), 'valueType', 'must be a non-empty string, got ""');
  throwsOn(legacy((r) => (r.intent = 3)), 'intent', 'must be a non-empty string, got 3');
  // optional strings: absent, null and "" are fine (recordType then counts as EVENT), anything else is refused
  throwsOn(legacy((r) => (r.recordType = 7)), 'recordType', 'must be a string, got 7');
  throwsOn(legacyValue((v) => (v.errorType = 5)), 'value.errorType', 'must be a string, got 5');
  throwsOn(legacyValue((v) => (v.tenantId = ['a'])), 'value.tenantId', 'must be a string, got an array');
  // 64-bit integers
  throwsOn(legacy((r) => delete r.key), 'key', 'is required');
  throwsOn(legacy((r) => (r.key = null)), 'key', 'is required');
  throwsOn(legacy((r) => (r.key = 1.5)), 'key', 'must be a 64-bit integer, got 1.5');
  throwsOn(legacy((r) => (r.key = 'abc')), 'key', 'must be a 64-bit integer, got "abc"');
  throwsOn(legacy((r) => (r.key = '')), 'key', 'must be a 64-bit integer, got ""');
  throwsOn(legacy((r) => (r.key = true)), 'key', 'must be a 64-bit integer, got true');
  throwsOn(legacy((r) => (r.key = { n: 1 })), 'key', 'must be a 64-bit integer, got an object');
  throwsOn(legacy((r) => (r.key = '007')), 'key', 'must be a 64-bit integer, got "007"');
  for (const lossy of ['1.2e20', '9007199254740993.0']) {
    // a float that JS cannot hold exactly is not an exact integer
    assert.ok(LEGACY.includes('"key": 2251799813685263'));
    throwsOn(
      LEGACY.replace('"key": 2251799813685263', `"key": ${lossy}`),
      'key',
      'must be a 64-bit integer, got a number beyond 2^53 written with a fraction or exponent',
    );
  }
  throwsOn(legacy((r) => (r.key = '9223372036854775808')), 'key', 'must be a 64-bit integer, got "9223372036854775808"');
  const tooSmall = LEGACY.replace('"key": 2251799813685263', '"key": -9223372036854775809');
  throwsOn(tooSmall, 'key', 'must be a 64-bit integer, got "-9223372036854775809"');
  throwsOn(legacy((r) => delete r.partitionId), 'partitionId', 'is required');
  throwsOn(legacy((r) => (r.partitionId = -1)), 'partitionId', 'must be ≥ 0, got -1');
  throwsOn(legacy((r) => (r.partitionId = '-2')), 'partitionId', 'must be ≥ 0, got -2');
  throwsOn(legacyValue((v) => (v.jobKey = 'x')), 'value.jobKey', 'must be a 64-bit integer, got "x"');
  throwsOn(legacyValue((v) => (v.workflowInstanceKey = 2.5)), 'value.workflowInstanceKey', 'must be a 64-bit integer, got 2.5');
  throwsOn(legacyValue((v) => (v.processDefinitionKey = 'p')), 'value.processDefinitionKey', 'must be a 64-bit integer, got "p"');
  throwsOn(legacy((r) => (r.position = -0.5)), 'position', 'must be a 64-bit integer, got -0.5');
  // value
  throwsOn(legacy((r) => delete r.value), 'value', 'is required');
  throwsOn(legacy((r) => (r.value = null)), 'value', 'is required');
  throwsOn(legacy((r) => (r.value = [])), 'value', 'must be a JSON object, got an array');
  throwsOn(legacy((r) => (r.value = 'v')), 'value', 'must be a JSON object, got "v"');
  // timestamp
  throwsOn(legacy((r) => (r.timestamp = '2020-02-04')), 'timestamp', 'must be epoch milliseconds, got "2020-02-04"');
  throwsOn(legacy((r) => (r.timestamp = -1)), 'timestamp', 'must be epoch milliseconds, got -1');
  throwsOn(legacy((r) => (r.timestamp = 1.5)), 'timestamp', 'must be epoch milliseconds, got 1.5');
  throwsOn(legacy((r) => (r.timestamp = 8_640_000_000_000_001)), 'timestamp', 'must be epoch milliseconds, got 8640000000000001');
  // long values are cut in the message
  throwsOn(legacy((r) => (r.key = 'x'.repeat(100))), 'key', `must be a 64-bit integer, got "${'x'.repeat(39)}…`);
});

test('absent optional fields (missing, null or "") are left out', () => {
  const { alarm } = only(
    parseZeebe(
      legacy((r) => {
        Object.assign(r, { recordType: '', position: null, timestamp: null });
        Object.assign(r.value as Record<string, unknown>, { errorType: null, errorMessage: '', elementId: undefined, jobKey: null });
      }),
      opts,
    ),
  );
  assert.equal(alarm.summary, 'Incident in create-incident');
  assert.equal(alarm.description, undefined);
  assert.equal(alarm.occurredAt, undefined);
  assert.deepEqual(alarm.labels, { bpmnProcessId: 'create-incident', partitionId: '1' });
  assert.deepEqual(Object.keys(alarm.annotations), [
    'key',
    'processInstanceKey',
    'processDefinitionKey',
    'elementInstanceKey',
    'variableScopeKey',
  ]);
});

test('the first offending field in record order is reported', () => {
  throwsOn(legacy((r) => Object.assign(r, { key: 'k', valueType: 5 })), 'valueType', 'must be a non-empty string, got 5');
  throwsOn(legacy((r) => Object.assign(r, { value: 1, partitionId: -3 })), 'partitionId', 'must be ≥ 0, got -3');
  throwsOn(
    legacy((r) => Object.assign(r, { timestamp: 'now', position: 'p', value: { ...(r.value as object), jobKey: 'j', errorType: 1 } })),
    'value.errorType',
    'must be a string, got 1',
  );
  throwsOn(legacy((r) => Object.assign(r, { timestamp: 'now', position: 'p' })), 'position', 'must be a 64-bit integer, got "p"');
});

test('the envelope is checked on every record; the rest of an ignored record is not', () => {
  const deployment = JSON.parse(ENVELOPE) as Record<string, unknown>;
  throwsOn(JSON.stringify({ ...deployment, key: 'abc' }), 'key', 'must be a 64-bit integer, got "abc"');
  throwsOn(JSON.stringify({ ...deployment, value: null }), 'value', 'is required');
  throwsOn(legacy((r) => Object.assign(r, { intent: 'MIGRATED', partitionId: -1 })), 'partitionId', 'must be ≥ 0, got -1');
  throwsOn(legacy((r) => Object.assign(r, { recordType: 'COMMAND', intent: '' })), 'intent', 'must be a non-empty string, got ""');
  // Not an incident event: value fields, position and timestamp are not looked at.
  const bad = { value: { jobKey: 'x', errorType: 5 }, position: 'p', timestamp: 'now' };
  assert.equal(ignoredReason(parseZeebe(JSON.stringify({ ...deployment, ...bad }), opts)), 'valueType DEPLOYMENT is not INCIDENT');
  assert.equal(
    ignoredReason(parseZeebe(legacy((r) => Object.assign(r, bad, { intent: 'MIGRATED' })), opts)),
    'intent MIGRATED is not CREATED or RESOLVED',
  );
});

test('Camunda 8 key names win; a Zeebe 0.22 workflow* name is read (and checked) only in their absence', () => {
  const both = legacyValue((v) =>
    Object.assign(v, { processInstanceKey: 11, workflowInstanceKey: 'x', processDefinitionKey: 12, workflowKey: 2.5 }),
  );
  const { alarm } = only(parseZeebe(both, opts));
  assert.equal(alarm.annotations.processInstanceKey, '11');
  assert.equal(alarm.annotations.processDefinitionKey, '12');
  const nulls = legacyValue((v) => Object.assign(v, { processInstanceKey: null, processDefinitionKey: null }));
  const legacyKeys = only(parseZeebe(nulls, opts)).alarm.annotations;
  assert.equal(legacyKeys.processInstanceKey, '2251799813685258');
  assert.equal(legacyKeys.processDefinitionKey, '2251799813685249');
  throwsOn(
    legacyValue((v) => Object.assign(v, { processInstanceKey: null, workflowInstanceKey: 'x' })),
    'value.workflowInstanceKey',
    'must be a 64-bit integer, got "x"',
  );
  throwsOn(
    legacyValue((v) => Object.assign(v, { processInstanceKey: '', workflowInstanceKey: 1 })),
    'value.processInstanceKey',
    'must be a 64-bit integer, got ""',
  );
});

test('an array: alarms from qualifying records, errors prefixed with the index', () => {
  const mixed = `[${ENVELOPE}, ${camunda8('CREATED')}]`;
  const items = alarms(parseZeebe(mixed, opts));
  assert.equal(items.length, 1);
  assert.equal(items[0]!.alarm.annotations.key, '11258999068426363');

  assert.equal(
    ignoredReason(parseZeebe(`[${ENVELOPE}, ${legacy((r) => (r.intent = 'MIGRATED'))}]`, opts)),
    'valueType DEPLOYMENT is not INCIDENT',
  );
  assert.equal(ignoredReason(parseZeebe('[]', opts)), 'empty array: no records');
  throwsOn(`[${LEGACY}, ${legacy((r) => (r.partitionId = -1))}]`, '[1].partitionId', 'must be ≥ 0, got -1');
  throwsOn(`[${LEGACY}, 7]`, '[1]', 'must be a JSON object, got 7');
  throwsOn(`[${LEGACY}, null]`, '[1]', 'must be a JSON object, got null');
  throwsOn(`[${legacyValue((v) => (v.jobKey = 1.5))}]`, '[0].value.jobKey', 'must be a 64-bit integer, got 1.5');
  throwsOn(`[${LEGACY}, ${legacy((r) => delete r.value)}]`, '[1].value', 'is required');
  // an ignored record before a bad one does not hide the error
  throwsOn(`[${ENVELOPE}, ${legacy((r) => (r.key = 'k'))}]`, '[1].key', 'must be a 64-bit integer, got "k"');
});
