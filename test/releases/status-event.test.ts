import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {HTTP} from 'cloudevents';
import {markBuilding, markDeploying, newRelease} from '../../src/releases/release';
import {rejectedObjectMessage, releaseStatusMessage, type ReleaseEventData} from '../../src/releases/status-event';
import {validateEventData} from '../event-schema';
import {parseJson} from '../json';

const ctx = {projectId: 'p-123', region: 'europe-west1'};
const T0 = new Date('2026-11-28T09:00:00Z');
const T1 = new Date('2026-11-28T09:01:00Z');
const base = newRelease(
  {
    service: 'hello',
    release: 3,
    trigger: 'upload',
    actor: 'gs://b/hello/v3.zip#1',
    source: {bucket: 'b', object: 'hello/v3.zip', generation: '1'},
  },
  T0,
);

describe('releaseStatusMessage', () => {
  const r = markBuilding(base, {buildId: 'b1', logUrl: 'https://log/b1'}, T1).release;
  const m = releaseStatusMessage(r, 'building', ctx);

  it('is binary mode: ce-* attributes, content-type, JSON data', () => {
    assert.deepEqual(Object.keys(m.attributes).sort(), [
      'ce-dataschema',
      'ce-id',
      'ce-source',
      'ce-specversion',
      'ce-subject',
      'ce-time',
      'ce-type',
      'content-type',
    ]);
    assert.equal(m.attributes['ce-specversion'], '1.0');
    assert.equal(m.attributes['ce-type'], 'dev.dropdeploy.release.v1.building');
    assert.equal(m.attributes['ce-subject'], 'services/hello/releases/3');
    assert.equal(m.attributes['ce-source'], '//dropdeploy.dev/projects/p-123/locations/europe-west1');
    assert.equal(m.attributes['ce-time'], T1.toISOString());
    assert.equal(m.attributes['content-type'], 'application/json');
    assert.equal(m.orderingKey, 'hello');
  });
  it('data is the release record announcing that state', () => {
    const data = parseJson<Record<string, unknown>>(m.data);
    assert.equal(data.state, 'building');
    assert.equal(data.service, 'hello');
    assert.equal(data.release, 3);
    assert.equal(data.buildId, 'b1');
    assert.equal(data.buildLogUrl, 'https://log/b1');
    assert.deepEqual(data.source, {bucket: 'b', object: 'hello/v3.zip', generation: '1'});
    assert.equal(data.published, undefined, 'outbox bookkeeping stays out');
  });
  it('id is stable per (service, release, state)', () => {
    const later = markDeploying(r, 'img@sha256:1', new Date('2026-11-28T10:00:00Z')).release;
    assert.equal(releaseStatusMessage(later, 'building', ctx).attributes['ce-id'], m.attributes['ce-id']);
    assert.notEqual(releaseStatusMessage(later, 'deploying', ctx).attributes['ce-id'], m.attributes['ce-id']);
    assert.equal(
      releaseStatusMessage(later, 'building', ctx).attributes['ce-time'],
      T1.toISOString(),
      'the time is when the state was reached',
    );
  });
  it('round-trips through the CloudEvents SDK (the binding maps onto HTTP binary mode)', () => {
    const event = HTTP.toEvent({headers: m.attributes, body: m.data.toString()});
    assert.ok(!Array.isArray(event));
    const e = event as {type: string; subject: string; data: {state: string}};
    assert.equal(e.type, 'dev.dropdeploy.release.v1.building');
    assert.equal(e.subject, 'services/hello/releases/3');
    assert.equal(e.data.state, 'building');
  });
});

describe('rejectedObjectMessage', () => {
  it('names the object as subject', () => {
    const m = rejectedObjectMessage(
      {bucket: 'b', object: 'Bad_Name/v1.zip', generation: '5'},
      {code: 'INVALID_SERVICE_NAME', message: 'uppercase'},
      {...ctx, now: T0},
    );
    assert.equal(m.attributes['ce-subject'], 'objects/Bad_Name/v1.zip');
    assert.equal(m.attributes['ce-type'], 'dev.dropdeploy.release.v1.rejected');
    assert.equal(m.attributes['ce-id'], 'objects/b/Bad_Name/v1.zip#5/rejected');
    const data = parseJson<{error?: unknown}>(m.data);
    assert.deepEqual(data.error, {code: 'INVALID_SERVICE_NAME', message: 'uppercase'});
  });
});

describe('the documented data schema (schemas/release-event.v1.json)', () => {
  const validate = validateEventData;
  const full = markDeploying(markBuilding(base, {buildId: 'b1', logUrl: 'https://log'}, T1).release, 'r/hello@sha256:1', T1).release;

  it('accepts every state of a release', () => {
    for (const state of ['accepted', 'building', 'deploying'] as const) {
      const data: unknown = JSON.parse(releaseStatusMessage(full, state, ctx).data.toString());
      assert.ok(validate(data), JSON.stringify(validate.errors));
    }
  });
  it('accepts a rejected upload', () => {
    const data: unknown = JSON.parse(
      rejectedObjectMessage(
        {bucket: 'b', object: 'X/y.zip', generation: '1'},
        {code: 'INVALID_SERVICE_NAME', message: 'm'},
        {...ctx, now: T0},
      ).data.toString(),
    );
    assert.ok(validate(data), JSON.stringify(validate.errors));
  });
  it('accepts a config release (trigger config, its env change with a redacted value)', () => {
    const config = newRelease(
      {
        service: 'hello',
        release: 5,
        trigger: 'config',
        actor: 'user:ana@example.com',
        image: 'r/hello@sha256:1',
        env: {
          set: [
            {name: 'GREETING', value: 'hi'},
            {name: 'API_KEY', redacted: true},
          ],
          unset: ['OLD'],
        },
      },
      T0,
    );
    const data: unknown = JSON.parse(
      releaseStatusMessage(markDeploying(config, 'r/hello@sha256:1', T1).release, 'deploying', ctx).data.toString(),
    );
    assert.ok(validate(data), JSON.stringify(validate.errors));
    assert.equal(validate({...(data as object), env: {set: [{value: 'no name'}], unset: []}}), false);
  });
  it('accepts a release with several targets, and refuses a target without its state', () => {
    const targets = [
      {
        region: 'europe-west1',
        project: 'p-123',
        state: 'deployed' as const,
        revision: 'hello-00003-abc',
        url: 'https://hello-eu',
        previousRevision: 'hello-00002-xyz',
      },
      {region: 'us-east1', project: 'p-other', state: 'failed' as const, error: {code: 'REVISION_FAILED', message: 'not ready'}},
    ];
    const data = parseJson<Record<string, unknown>>(releaseStatusMessage({...full, targets}, 'deploying', ctx).data);
    assert.deepEqual(data.targets, targets);
    assert.ok(validate(data), JSON.stringify(validate.errors));
    assert.equal(validate({...data, targets: [{region: 'europe-west1', project: 'p-123'}]}), false);
    assert.equal(validate({...data, targets: [{...targets[0], state: 'halfway'}]}), false);
  });
  it('refuses an unknown state (the schema is not vacuous)', () => {
    const data = parseJson<Record<string, unknown>>(releaseStatusMessage(full, 'building', ctx).data);
    assert.equal(validate({...data, state: 'exploded'}), false);
    assert.equal(validate({...data, source: {bucket: 'b'}}), false);
  });
});

describe('Pub/Sub limits (attribute key 256 bytes, value 1,024 bytes, ordering key 1,024 bytes)', () => {
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
  const withinLimits = (m: {attributes: Record<string, string>; orderingKey: string}) => {
    for (const [k, v] of Object.entries(m.attributes)) {
      assert.ok(bytes(k) <= 256, `key ${k}`);
      assert.ok(bytes(v) <= 1024, `${k} is ${bytes(v)} bytes`);
      assert.equal(Buffer.from(v, 'utf8').toString('utf8'), v, `${k} is whole UTF-8 (no character cut in half)`);
    }
    assert.ok(bytes(m.orderingKey) <= 1024, `ordering key is ${bytes(m.orderingKey)} bytes`);
    assert.equal(Buffer.from(m.orderingKey, 'utf8').toString('utf8'), m.orderingKey);
  };
  // Cloud Storage object names are at most 1,024 bytes of UTF-8.
  const names: Array<{name: string; object: string}> = [
    {name: 'ASCII', object: 'A'.repeat(1020) + '.zip'},
    {name: '2-byte characters', object: 'é'.repeat(510) + '.zip'},
    {name: '4-byte characters', object: '😀'.repeat(255) + '.zip'},
    {name: 'mixed, so a cut lands inside a character', object: ('a😀é' + 'b'.repeat(3)).repeat(101) + 'x'.repeat(10) + '.zip'},
  ];
  for (const {name, object} of names) {
    it(`a rejected event for a 1,024-byte object name (${name}) fits`, () => {
      assert.ok(bytes(object) <= 1024 && bytes(object) > 1000, `the fixture is ${bytes(object)} bytes`);
      const source = {bucket: 'a-bucket-name-of-sixty-three-characters-long-enough-for-the-test', object, generation: '1712345678901234'};
      const m = rejectedObjectMessage(source, {code: 'INVALID_SERVICE_NAME', message: 'm'}, {...ctx, now: T0});
      withinLimits(m);
      // Stable (subscribers drop duplicates by id), distinct per object and generation.
      assert.equal(rejectedObjectMessage(source, {code: 'X', message: 'y'}, {...ctx, now: T1}).attributes['ce-id'], m.attributes['ce-id']);
      const other = rejectedObjectMessage({...source, object: object.slice(0, -5) + 'Z.zip'}, {code: 'X', message: 'y'}, {...ctx, now: T0});
      assert.notEqual(other.attributes['ce-id'], m.attributes['ce-id']);
      assert.notEqual(other.orderingKey, m.orderingKey);
      assert.notEqual(
        rejectedObjectMessage({...source, generation: '2'}, {code: 'X', message: 'y'}, {...ctx, now: T0}).attributes['ce-id'],
        m.attributes['ce-id'],
      );
      // The subject still starts with the name; the data names the object in full.
      assert.ok(m.attributes['ce-subject'].startsWith('objects/' + object.slice(0, 100)));
      assert.equal(parseJson<ReleaseEventData>(m.data).source?.object, object);
    });
  }
  it('short values are left exactly as they were', () => {
    const m = rejectedObjectMessage(
      {bucket: 'b', object: 'Bad_Name/v1.zip', generation: '5'},
      {code: 'C', message: 'm'},
      {...ctx, now: T0},
    );
    assert.equal(m.attributes['ce-id'], 'objects/b/Bad_Name/v1.zip#5/rejected');
    assert.equal(m.orderingKey, 'objects/b/Bad_Name/v1.zip');
  });
});
