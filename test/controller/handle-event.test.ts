/**
 * handleEvent sorts every outcome into "acknowledge" (return) or "redeliver" (throw): what can
 * never succeed is never thrown, what may succeed later always is. Ports are fakes: no path
 * here needs the emulators' transactions.
 */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {handleEvent, type IncomingEvent} from '../../src/controller/handle-event';
import {PermanentError, RetryableError} from '../../src/errors';
import {fakeDeps} from './fakes';

const FINALIZED = 'google.cloud.storage.object.v1.finalized';
const upload = (name: string, extra: Partial<IncomingEvent> = {}): IncomingEvent => ({
  id: 'e1',
  source: '//storage.googleapis.com/projects/_/buckets/dd-sources',
  type: FINALIZED,
  data: {bucket: 'dd-sources', name, generation: '7', size: '10'},
  ...extra,
});

describe('handleEvent: acknowledge or redeliver', () => {
  const cases: Array<{name: string; event: IncomingEvent; action: string; severity: string; log: RegExp}> = [
    {
      name: 'a body that is no storage object',
      event: {id: 'e', type: FINALIZED, data: 'not an object'},
      action: 'invalid',
      severity: 'ERROR',
      log: /^event dropped: /,
    },
    {
      name: 'an event type the controller does not handle',
      event: {id: 'e', type: 'google.cloud.pubsub.topic.v1.messagePublished.other', data: {}},
      action: 'invalid',
      severity: 'ERROR',
      log: /^event dropped: /,
    },
    {
      name: 'a deleted object that is not a preview',
      event: {...upload('hello/app.zip'), type: 'google.cloud.storage.object.v1.deleted'},
      action: 'ignored',
      severity: 'INFO',
      log: /^deletion ignored: /,
    },
    {
      name: 'an archived object',
      event: {...upload('hello/app.zip'), type: 'google.cloud.storage.object.v1.archived'},
      action: 'ignored',
      severity: 'INFO',
      log: /^event ignored: /,
    },
    {
      name: 'an object that is no archive',
      event: upload('hello/readme.txt'),
      action: 'ignored',
      severity: 'INFO',
      log: /^upload ignored: /,
    },
    {
      name: 'a bucket that is not a source bucket',
      event: upload('hello/app.zip', {data: {bucket: 'elsewhere', name: 'hello/app.zip', generation: '1'}}),
      action: 'ignored',
      severity: 'WARNING',
      log: /bucket elsewhere is not a source bucket \(DROPDEPLOY_BUCKETS=dd-sources\)/,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.action}, acknowledged, no store call`, async () => {
      const f = fakeDeps();
      const out = await handleEvent(f.deps, c.event, f.log);
      assert.equal(out.action, c.action);
      const entry = f.logs.find((l) => c.log.test(l.message));
      assert.ok(entry, `no log line matching ${c.log} in ${JSON.stringify(f.logs)}`);
      assert.equal(entry.severity, c.severity);
      assert.deepEqual(f.publisher.messages, []);
    });
  }

  it('a retryable failure of a port is thrown (redelivered), logged as a warning', async () => {
    const f = fakeDeps({store: {claimSource: () => Promise.reject(new RetryableError('Firestore is unavailable', 'UNAVAILABLE'))}});
    await assert.rejects(
      handleEvent(f.deps, upload('hello/app.zip'), f.log),
      (e: unknown) => e instanceof RetryableError && e.code === 'UNAVAILABLE',
    );
    const warning = f.logs.find((l) => l.severity === 'WARNING');
    assert.match(warning?.message ?? '', /^event will be redelivered: Firestore is unavailable/);
  });

  it('an unknown failure is retried too (fail closed: redeliver, never drop)', async () => {
    const f = fakeDeps({store: {claimSource: () => Promise.reject(new TypeError('cannot read x of undefined'))}});
    await assert.rejects(
      handleEvent(f.deps, upload('hello/app.zip'), f.log),
      (e: unknown) => e instanceof RetryableError && /handling the event failed: .*cannot read x/.test(e.message),
    );
  });

  it('a permanent failure is acknowledged with its reason, logged as an error', async () => {
    const f = fakeDeps({
      store: {claimSource: () => Promise.reject(new PermanentError('the bucket is not readable by the controller', 'PERMISSION_DENIED'))},
    });
    const out = await handleEvent(f.deps, upload('hello/app.zip'), f.log);
    assert.deepEqual(out, {action: 'failed', detail: 'the bucket is not readable by the controller'});
    assert.equal(f.logs.at(-1)?.severity, 'ERROR');
    assert.match(f.logs.at(-1)?.message ?? '', /^event failed permanently and is acknowledged/);
  });

  it('a W3C traceparent puts the entries in that Cloud Trace, with the event labels', async () => {
    const f = fakeDeps();
    await handleEvent(f.deps, upload('hello/readme.txt', {traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'}), f.log);
    assert.equal(f.logs[0]['logging.googleapis.com/trace'], 'projects/fake-project/traces/0af7651916cd43dd8448eb211c80319c');
    assert.deepEqual(f.logs[0]['logging.googleapis.com/labels'], {
      eventId: 'e1',
      eventType: FINALIZED,
      bucket: 'dd-sources',
      object: 'hello/readme.txt',
      generation: '7',
    });
  });
});
