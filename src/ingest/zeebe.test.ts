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

function throwsOn(body: string, field: string, message?: RegExp): void {
  assert.throws(
    () => parseZeebe(body, opts),
    (e: unknown) => {
      assert.ok(e instanceof IngestError, `not an IngestError: ${String(e)}`);
      assert.equal(e.field, field);
      assert.equal(e.status, 400);
      if (message) assert.match(e.message, message);
      return true;
    },
  );
}

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

test('invalid input throws IngestError naming the field', () => {
  throwsOn('{"partitionId": 1,', 'body', /^invalid JSON: /);
  throwsOn('"record"', 'body', /object/);
  throwsOn('null', 'body');
  throwsOn(legacy((r) => delete r.key), 'key', /required/);
  throwsOn(legacy((r) => (r.key = 1.5)), 'key', /integer/);
  throwsOn(legacy((r) => (r.key = 'abc')), 'key', /integer/);
  for (const lossy of ['1.2e20', '9007199254740993.0']) {
    // a float that JS cannot hold exactly is not an exact integer
    assert.ok(LEGACY.includes('"key": 2251799813685263'));
    throwsOn(LEGACY.replace('"key": 2251799813685263', `"key": ${lossy}`), 'key', /integer/);
  }
  throwsOn(legacy((r) => (r.key = '9223372036854775808')), 'key', /64-bit/);
  throwsOn(legacy((r) => (r.partitionId = -1)), 'partitionId', /≥ 0/);
  throwsOn(legacy((r) => delete r.partitionId), 'partitionId');
  throwsOn(legacy((r) => delete r.valueType), 'valueType');
  throwsOn(legacy((r) => (r.intent = 3)), 'intent');
  throwsOn(legacy((r) => delete r.value), 'value');
  throwsOn(legacy((r) => (r.value = [])), 'value');
  throwsOn(legacy((r) => ((r.value as Record<string, unknown>).jobKey = 'x')), 'value.jobKey');
  throwsOn(legacy((r) => ((r.value as Record<string, unknown>).workflowInstanceKey = 2.5)), 'value.workflowInstanceKey');
  throwsOn(legacy((r) => (r.timestamp = '2020-02-04')), 'timestamp');
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
  throwsOn(`[${LEGACY}, ${legacy((r) => (r.partitionId = -1))}]`, '[1].partitionId');
  throwsOn(`[${LEGACY}, 7]`, '[1]');
  throwsOn(`[${legacy((r) => ((r.value as Record<string, unknown>).jobKey = 1.5))}]`, '[0].value.jobKey');
});
