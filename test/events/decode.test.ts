import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {decodeEvent} from '../../src/events/decode';
import {fixture} from '../fixtures/load';

type Ev = {type?: string; data?: unknown};
const b64 = (x: unknown) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64');

describe('decodeEvent: the four shapes (fixtures)', () => {
  it('storage finalized (Eventarc direct)', () => {
    const got = decodeEvent(fixture<Ev>('storage-finalized'));
    assert.deepEqual(got, {
      kind: 'upload',
      via: 'storage',
      source: {
        bucket: 'dd-sources',
        object: 'hello/v3.tar.gz',
        generation: '1700000000000001',
        size: '2048',
        md5Hash: '1B2M2Y8AsgTpgAmY7PhCfg==',
        crc32c: 'AAAAAA==',
        contentType: 'application/gzip',
        timeCreated: '2026-11-28T09:00:00.000Z',
      },
      metadata: {'function-target': 'helloHttp', 'function-signature-type': 'http'},
    });
  });
  it('GCS notification through Pub/Sub decodes to the same source', () => {
    const direct = decodeEvent(fixture<Ev>('storage-finalized'));
    const viaPubsub = decodeEvent(fixture<Ev>('pubsub-gcs-notification'));
    assert.equal(viaPubsub.kind, 'upload');
    assert.deepEqual({...viaPubsub, via: 'storage'}, direct);
  });
  it('cloud-builds topic through Pub/Sub', () => {
    const got = decodeEvent(fixture<Ev>('pubsub-cloud-builds'));
    assert.deepEqual(got, {
      kind: 'build',
      via: 'pubsub',
      buildId: '5e1f2b7a-0c1d-4e6f-9a8b-1234567890ab',
      status: 'SUCCESS',
      tags: ['dropdeploy', 'dd-hello-v3'],
      substitutions: {_DD_SERVICE: 'hello', _DD_RELEASE: '3'},
    });
  });
  it('Cloud Build statusChanged (Eventarc direct)', () => {
    const got = decodeEvent(fixture<Ev>('cloudbuild-status-changed'));
    assert.equal(got.kind, 'build');
    assert.equal((got as {via: string}).via, 'eventarc');
    assert.equal((got as {status: string}).status, 'SUCCESS');
  });
  it('data as a JSON string or as bytes (structured/binary modes)', () => {
    const ev = fixture<Ev>('storage-finalized');
    const want = decodeEvent(ev);
    assert.deepEqual(decodeEvent({...ev, data: JSON.stringify(ev.data)}), want);
    assert.deepEqual(decodeEvent({...ev, data: Buffer.from(JSON.stringify(ev.data))}), want);
  });
});

describe('decodeEvent: edge and malformed inputs', () => {
  const obj = {bucket: 'b', name: 'hello/v1.zip', generation: '12'};
  const pub = (attributes: Record<string, string>, data?: string) => ({
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    data: {message: {attributes, data}},
  });
  const cases: Array<{name: string; event: Ev; kind: string; reason?: RegExp; check?: (x: Record<string, unknown>) => void}> = [
    {
      name: 'generation as a number',
      event: {type: 'google.cloud.storage.object.v1.finalized', data: {...obj, generation: 12, size: 3}},
      kind: 'upload',
      check: (x) => assert.deepEqual((x as {source: object}).source, {bucket: 'b', object: 'hello/v1.zip', generation: '12', size: '3'}),
    },
    {name: 'no type: not a CloudEvent', event: {data: obj}, kind: 'invalid', reason: /not a CloudEvent/},
    {
      name: 'unknown type',
      event: {type: 'com.example.thing', data: {}},
      kind: 'invalid',
      reason: /unsupported event type "com.example.thing"/,
    },
    {
      name: 'storage deleted names the deleted generation',
      event: {type: 'google.cloud.storage.object.v1.deleted', data: obj},
      kind: 'deleted',
      check: (x) => assert.deepEqual(x, {kind: 'deleted', via: 'storage', bucket: 'b', object: 'hello/v1.zip', generation: '12'}),
    },
    {
      name: 'storage deleted without a generation is invalid',
      event: {type: 'google.cloud.storage.object.v1.deleted', data: {bucket: 'b', name: 'x.zip'}},
      kind: 'invalid',
      reason: /generation/,
    },
    {name: 'storage archived is ignored', event: {type: 'google.cloud.storage.object.v1.archived', data: obj}, kind: 'ignored'},
    {
      name: 'missing generation',
      event: {type: 'google.cloud.storage.object.v1.finalized', data: {bucket: 'b', name: 'x.zip'}},
      kind: 'invalid',
      reason: /generation/,
    },
    {
      name: 'generation not a number',
      event: {type: 'google.cloud.storage.object.v1.finalized', data: {...obj, generation: '12abc'}},
      kind: 'invalid',
      reason: /generation/,
    },
    {
      name: 'negative generation',
      event: {type: 'google.cloud.storage.object.v1.finalized', data: {...obj, generation: -1}},
      kind: 'invalid',
    },
    {name: 'data not JSON', event: {type: 'google.cloud.storage.object.v1.finalized', data: 'not json'}, kind: 'invalid'},
    {name: 'data null', event: {type: 'google.cloud.storage.object.v1.finalized', data: null}, kind: 'invalid'},
    {name: 'data an array', event: {type: 'google.cloud.storage.object.v1.finalized', data: [obj]}, kind: 'invalid'},
    {
      name: 'Pub/Sub without message',
      event: {type: 'google.cloud.pubsub.topic.v1.messagePublished', data: {}},
      kind: 'invalid',
      reason: /no message/,
    },
    {name: 'Pub/Sub data not base64', event: pub({eventType: 'OBJECT_FINALIZE'}, '%%%not base64'), kind: 'invalid', reason: /base64/},
    {name: 'Pub/Sub truncated base64', event: pub({eventType: 'OBJECT_FINALIZE'}, b64(obj).slice(0, 13)), kind: 'invalid'},
    {name: 'Pub/Sub base64 of non-JSON', event: pub({eventType: 'OBJECT_FINALIZE'}, b64('hello')), kind: 'invalid', reason: /JSON/},
    {
      name: 'OBJECT_DELETE names the deleted generation',
      event: pub({eventType: 'OBJECT_DELETE', bucketId: 'b', objectId: 'hello/v1.zip', objectGeneration: '12'}, b64(obj)),
      kind: 'deleted',
      check: (x) => assert.deepEqual(x, {kind: 'deleted', via: 'pubsub', bucket: 'b', object: 'hello/v1.zip', generation: '12'}),
    },
    {name: 'OBJECT_ARCHIVE is ignored', event: pub({eventType: 'OBJECT_ARCHIVE'}, b64(obj)), kind: 'ignored', reason: /OBJECT_ARCHIVE/},
    {name: 'OBJECT_METADATA_UPDATE is ignored', event: pub({eventType: 'OBJECT_METADATA_UPDATE'}, b64(obj)), kind: 'ignored'},
    {
      name: 'payloadFormat NONE: attributes carry the object',
      event: pub({eventType: 'OBJECT_FINALIZE', payloadFormat: 'NONE', bucketId: 'b', objectId: 'hello/v1.zip', objectGeneration: '12'}),
      kind: 'upload',
      check: (x) => assert.deepEqual((x as {source: object}).source, {bucket: 'b', object: 'hello/v1.zip', generation: '12'}),
    },
    {name: 'Pub/Sub message of unknown origin', event: pub({foo: 'bar'}, b64({})), kind: 'invalid', reason: /neither/},
    {name: 'build message without status', event: pub({buildId: 'x'}, b64({id: 'x'})), kind: 'invalid', reason: /no status/},
    {
      name: 'build status as enum number',
      event: {type: 'google.cloud.cloudbuild.build.v1.statusChanged', data: {id: 'x', status: 3}},
      kind: 'build',
      check: (x) => assert.equal(x.status, 'SUCCESS'),
    },
    {
      name: 'build without id',
      event: {type: 'google.cloud.cloudbuild.build.v1.statusChanged', data: {status: 'SUCCESS'}},
      kind: 'invalid',
      reason: /no build id/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = decodeEvent(c.event) as unknown as Record<string, unknown>;
      assert.equal(got.kind, c.kind, JSON.stringify(got));
      if (c.reason) assert.match(got.reason as string, c.reason);
      c.check?.(got);
    });
  }
});
