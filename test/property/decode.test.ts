/**
 * Properties of `decodeEvent`: it is total over whatever the Functions Framework can hand it,
 * every outcome is one of the four kinds with the fields its kind promises, and the two
 * delivery paths of an upload (Eventarc direct, GCS notification through Pub/Sub) agree.
 */
import assert from 'node:assert/strict';
import '../harness/seed'; // fast-check's seed: the run's, printed by the harness
import {describe, it} from 'node:test';
import fc from 'fast-check';
import {decodeEvent, EVENT_TYPES, type EventLike} from '../../src/events/decode';
import type {Input} from '../../src/events/input';

const RUNS = 1000;
const b64 = (text: string) => Buffer.from(text).toString('base64');

const KNOWN_TYPES = [
  ...Object.values(EVENT_TYPES),
  'google.cloud.storage.object.v1.deleted',
  'google.cloud.storage.object.v1.archived',
  'google.cloud.storage.object.v1.metadataUpdated',
];

/** Any value in place of a field: mostly JSON, sometimes things JSON cannot hold. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue(),
  fc.string({unit: 'binary'}),
  fc.constantFrom(undefined, null, '', '0', '-1', '12abc', 1.5, -1, Number.NaN, Infinity, 2 ** 63, '99999999999999999999', '00012'),
  fc.bigInt(),
  fc.uint8Array({maxLength: 16}).map((a) => Buffer.from(a)),
);

/** A real storage object resource, with any of its fields replaced by any value or removed. */
const storageObjectish = fc.record(
  {
    bucket: fc.oneof(fc.constant('dd-sources'), anyValue),
    name: fc.oneof(fc.constant('hello/v1.zip'), anyValue),
    generation: fc.oneof(fc.bigInt({min: 0n, max: 2n ** 63n - 1n}).map(String), anyValue),
    size: anyValue,
    md5Hash: anyValue,
    crc32c: anyValue,
    contentType: anyValue,
    metadata: fc.oneof(fc.dictionary(fc.string(), anyValue), anyValue),
  },
  {requiredKeys: []},
);

/** A real Cloud Build resource, with fields replaced or removed. */
const buildish = fc.record(
  {
    id: fc.oneof(fc.uuid(), anyValue),
    status: fc.oneof(fc.constantFrom('SUCCESS', 'FAILURE', 'WORKING', 0, 3, 4, 8, 10, 99), anyValue),
    tags: fc.oneof(fc.array(anyValue, {maxLength: 4}), anyValue),
    substitutions: fc.oneof(fc.dictionary(fc.string(), anyValue), anyValue),
  },
  {requiredKeys: []},
);

const attributes = fc.oneof(
  fc.record(
    {
      eventType: fc.oneof(fc.constantFrom('OBJECT_FINALIZE', 'OBJECT_DELETE', 'OBJECT_ARCHIVE', 'OBJECT_METADATA_UPDATE', ''), fc.string()),
      bucketId: fc.string(),
      objectId: fc.string({unit: 'binary'}),
      objectGeneration: fc.oneof(fc.nat().map(String), fc.string()),
      payloadFormat: fc.constantFrom('JSON_API_V1', 'NONE'),
    },
    {requiredKeys: []},
  ),
  fc.record(
    {buildId: fc.oneof(fc.uuid(), fc.string()), status: fc.oneof(fc.constantFrom('SUCCESS', 'FAILURE'), fc.string())},
    {requiredKeys: []},
  ),
  fc.dictionary(fc.string(), anyValue),
  anyValue,
);

/** Pub/Sub `message.data`: base64 of a payload, truncated base64 of one, base64 of non-JSON, or junk. */
const messageData = fc.oneof(
  fc
    .oneof(storageObjectish, buildish)
    .map((o) => b64(JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) ?? '')),
  fc.tuple(fc.oneof(storageObjectish, buildish), fc.nat()).map(([o, n]) => {
    const full = b64(JSON.stringify(o, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) ?? '');
    return full.slice(0, n % (full.length + 1));
  }),
  fc.string({unit: 'binary'}).map(b64),
  fc.jsonValue().map((v) => b64(JSON.stringify(v) ?? '')),
  fc.base64String(),
  fc.string(),
  anyValue,
);

const pubsubish = fc.oneof(
  fc.record({
    message: fc.record(
      {
        attributes: fc.record(
          {eventType: fc.constant('OBJECT_FINALIZE'), bucketId: fc.string(), objectId: fc.string(), objectGeneration: fc.nat().map(String)},
          {requiredKeys: ['eventType']},
        ),
        data: messageData,
      },
      {requiredKeys: []},
    ),
  }),
  fc.record({
    message: fc.record(
      {
        attributes: fc.record(
          {buildId: fc.oneof(fc.uuid(), fc.string()), status: fc.oneof(fc.constantFrom('SUCCESS', 'FAILURE'), fc.string())},
          {requiredKeys: []},
        ),
        data: messageData,
      },
      {requiredKeys: []},
    ),
  }),
  fc.record(
    {message: fc.record({attributes, data: messageData, messageId: fc.string()}, {requiredKeys: []}), subscription: fc.string()},
    {requiredKeys: []},
  ),
  fc.record({message: anyValue}),
);

/** `data` as the framework may hand it over: the object itself, a JSON string of it, or its bytes. */
function framed(data: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const json = (d: unknown) => JSON.stringify(d, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) ?? '';
  return data.chain((d) => fc.constantFrom<unknown>(d, json(d), Buffer.from(json(d))));
}

const eventType = fc.oneof(fc.constantFrom(...KNOWN_TYPES), fc.string(), fc.constant(undefined), fc.constant(''));

/** Any type with any data, and (more often) each real type with data shaped like its payload. */
const anyEvent: fc.Arbitrary<EventLike> = fc.oneof(
  fc.record({type: eventType, data: framed(fc.oneof(storageObjectish, buildish, pubsubish, anyValue, fc.string({unit: 'binary'})))}),
  fc.record({type: fc.constant<string>(EVENT_TYPES.storageFinalized), data: framed(storageObjectish)}),
  fc.record({type: fc.constant<string>(EVENT_TYPES.pubsubPublished), data: framed(pubsubish)}),
  fc.record({type: fc.constant<string>(EVENT_TYPES.buildStatusChanged), data: framed(buildish)}),
  fc.record({type: fc.constant('google.cloud.storage.object.v1.deleted'), data: framed(storageObjectish)}),
);

/** The invariants every decoded input must satisfy. */
function assertWellFormed(got: Input): void {
  assert.ok(got !== null && typeof got === 'object', 'an object');
  switch (got.kind) {
    case 'upload':
      assert.ok(['storage', 'pubsub'].includes(got.via), `via ${got.via}`);
      assert.equal(typeof got.source.bucket, 'string');
      assert.ok(got.source.bucket.length > 0, 'bucket');
      assert.equal(typeof got.source.object, 'string');
      assert.ok(got.source.object.length > 0, 'object');
      assert.match(got.source.generation, /^\d+$/);
      if (got.source.size !== undefined) assert.match(got.source.size, /^\d+$/);
      for (const v of Object.values(got.metadata)) assert.equal(typeof v, 'string');
      return;
    case 'deleted':
      assert.ok(['storage', 'pubsub'].includes(got.via), `via ${got.via}`);
      assert.ok(got.bucket.length > 0 && got.object.length > 0, 'bucket and object');
      assert.match(got.generation, /^\d+$/);
      return;
    case 'build':
      assert.ok(['pubsub', 'eventarc'].includes(got.via), `via ${got.via}`);
      assert.ok(typeof got.buildId === 'string' && got.buildId.length > 0, 'buildId');
      assert.ok(typeof got.status === 'string' && got.status.length > 0, 'status');
      assert.ok(Array.isArray(got.tags) && got.tags.every((t) => typeof t === 'string'), 'tags');
      for (const v of Object.values(got.substitutions)) assert.equal(typeof v, 'string');
      return;
    case 'ignored':
    case 'invalid':
      assert.ok(typeof got.reason === 'string' && got.reason.length > 0, 'reason');
      return;
    default:
      assert.fail(`unknown kind ${JSON.stringify((got as {kind: unknown}).kind)}`);
  }
}

describe('property: decodeEvent is total', () => {
  it('any {type, data} decodes (no throw) to upload | deleted | build | ignored | invalid with its fields', () => {
    fc.assert(
      fc.property(anyEvent, (event) => {
        assertWellFormed(decodeEvent(event));
      }),
      {numRuns: RUNS * 3},
    );
  });

  it('a Pub/Sub message with arbitrary attributes and base64 data decodes to a well-formed input', () => {
    fc.assert(
      fc.property(pubsubish, (data) => {
        assertWellFormed(decodeEvent({type: EVENT_TYPES.pubsubPublished, data}));
      }),
      {numRuns: RUNS},
    );
  });

  it('a finalized event whose object fields are arbitrary decodes to a well-formed input', () => {
    fc.assert(
      fc.property(storageObjectish, (data) => {
        const got = decodeEvent({type: EVENT_TYPES.storageFinalized, data});
        assertWellFormed(got);
        // An upload is only ever made of the fields actually given, never of defaults.
        if (got.kind === 'upload') {
          assert.equal(got.source.bucket, data.bucket);
          assert.equal(got.source.object, data.name);
        }
      }),
      {numRuns: RUNS},
    );
  });
});

/** A valid Cloud Storage object resource, as Cloud Storage would describe it. */
const validObject = fc.record({
  bucket: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/),
  name: fc.oneof(fc.string({unit: 'binary', minLength: 1, maxLength: 60}), fc.string({minLength: 1})),
  generation: fc.oneof(
    fc.bigInt({min: 0n, max: 2n ** 63n - 1n}).map(String),
    // As a JSON number, only while a JavaScript number holds it exactly.
    fc.bigInt({min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER)}).map(Number),
  ),
  size: fc.option(fc.bigInt({min: 0n, max: 2n ** 40n}).map(String), {nil: undefined}),
  md5Hash: fc.option(fc.base64String({minLength: 4, maxLength: 24}), {nil: undefined}),
  crc32c: fc.option(fc.base64String({minLength: 4, maxLength: 8}), {nil: undefined}),
  contentType: fc.option(fc.constantFrom('application/zip', 'application/gzip', 'application/octet-stream'), {nil: undefined}),
  metadata: fc.option(fc.dictionary(fc.string(), fc.string()), {nil: undefined}),
});

type ValidObject = {bucket: string; name: string; generation: string | number};

/** The same object as a GCS notification through Pub/Sub (JSON_API_V1 payload format). */
function viaNotification(o: ValidObject): EventLike {
  return {
    type: EVENT_TYPES.pubsubPublished,
    data: {
      subscription: 'projects/p/subscriptions/s',
      message: {
        attributes: {
          bucketId: o.bucket,
          objectId: o.name,
          objectGeneration: String(o.generation),
          eventType: 'OBJECT_FINALIZE',
          payloadFormat: 'JSON_API_V1',
        },
        data: b64(JSON.stringify(o)),
        messageId: '1',
      },
    },
  };
}

describe('property: both delivery paths of an upload agree', () => {
  it('storage-direct and Pub/Sub-notification forms of any valid object decode to the same source', () => {
    fc.assert(
      fc.property(validObject, (o) => {
        const direct = decodeEvent({type: EVENT_TYPES.storageFinalized, data: o});
        const notified = decodeEvent(viaNotification(o));
        assert.equal(direct.kind, 'upload', JSON.stringify(direct));
        assert.deepEqual({...notified, via: 'storage'}, direct);
        if (direct.kind === 'upload') assert.equal(direct.source.generation, BigInt(o.generation).toString());
      }),
      {numRuns: RUNS},
    );
  });

  it('the data as a JSON string or bytes decodes as the object does', () => {
    fc.assert(
      fc.property(validObject, (o) => {
        const want = decodeEvent({type: EVENT_TYPES.storageFinalized, data: o});
        assert.deepEqual(decodeEvent({type: EVENT_TYPES.storageFinalized, data: JSON.stringify(o)}), want);
        assert.deepEqual(decodeEvent({type: EVENT_TYPES.storageFinalized, data: Buffer.from(JSON.stringify(o))}), want);
      }),
      {numRuns: RUNS / 2},
    );
  });

  it('a generation number too large for a JavaScript number is never decoded to a rounded generation', () => {
    fc.assert(
      fc.property(validObject, fc.bigInt({min: BigInt(Number.MAX_SAFE_INTEGER) + 1n, max: 2n ** 63n - 1n}), (o, big) => {
        const exact = big.toString();
        const rounded = {...o, generation: Number(big)};
        const direct = decodeEvent({type: EVENT_TYPES.storageFinalized, data: rounded});
        if (direct.kind === 'upload') assert.equal(direct.source.generation, exact);
        // Through Pub/Sub the attribute carries the exact generation as a string: that one wins.
        const event = viaNotification(rounded) as {data: {message: {attributes: Record<string, string>}}};
        event.data.message.attributes.objectGeneration = exact;
        const notified = decodeEvent(event);
        if (notified.kind === 'upload') assert.equal(notified.source.generation, exact);
      }),
      {numRuns: RUNS / 2},
    );
  });
});
