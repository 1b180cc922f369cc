import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {HTTP} from 'cloudevents';
import {markBuilding, markDeploying, newRelease} from '../../src/releases/release';
import {rejectedObjectMessage, releaseStatusMessage} from '../../src/releases/status-event';
import {validateEventData} from '../event-schema';

const ctx = {projectId: 'p-123', region: 'europe-west1'};
const T0 = new Date('2026-11-28T09:00:00Z');
const T1 = new Date('2026-11-28T09:01:00Z');
const base = newRelease({service: 'hello', release: 3, trigger: 'upload', actor: 'gs://b/hello/v3.zip#1', source: {bucket: 'b', object: 'hello/v3.zip', generation: '1'}}, T0);

describe('releaseStatusMessage', () => {
  const r = markBuilding(base, {buildId: 'b1', logUrl: 'https://log/b1'}, T1).release;
  const m = releaseStatusMessage(r, 'building', ctx);

  it('is binary mode: ce-* attributes, content-type, JSON data', () => {
    assert.deepEqual(Object.keys(m.attributes).sort(), ['ce-dataschema', 'ce-id', 'ce-source', 'ce-specversion', 'ce-subject', 'ce-time', 'ce-type', 'content-type']);
    assert.equal(m.attributes['ce-specversion'], '1.0');
    assert.equal(m.attributes['ce-type'], 'dev.dropdeploy.release.v1.building');
    assert.equal(m.attributes['ce-subject'], 'services/hello/releases/3');
    assert.equal(m.attributes['ce-source'], '//dropdeploy.dev/projects/p-123/locations/europe-west1');
    assert.equal(m.attributes['ce-time'], T1.toISOString());
    assert.equal(m.attributes['content-type'], 'application/json');
    assert.equal(m.orderingKey, 'hello');
  });
  it('data is the release record announcing that state', () => {
    const data = JSON.parse(m.data.toString());
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
    assert.equal(releaseStatusMessage(later, 'building', ctx).attributes['ce-time'], T1.toISOString(), 'the time is when the state was reached');
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
    const m = rejectedObjectMessage({bucket: 'b', object: 'Bad_Name/v1.zip', generation: '5'}, {code: 'INVALID_SERVICE_NAME', message: 'uppercase'}, {...ctx, now: T0});
    assert.equal(m.attributes['ce-subject'], 'objects/Bad_Name/v1.zip');
    assert.equal(m.attributes['ce-type'], 'dev.dropdeploy.release.v1.rejected');
    assert.equal(m.attributes['ce-id'], 'objects/b/Bad_Name/v1.zip#5/rejected');
    const data = JSON.parse(m.data.toString());
    assert.deepEqual(data.error, {code: 'INVALID_SERVICE_NAME', message: 'uppercase'});
  });
});

describe('the documented data schema (schemas/release-event.v1.json)', () => {
  const validate = validateEventData;
  const full = markDeploying(markBuilding(base, {buildId: 'b1', logUrl: 'https://log'}, T1).release, 'r/hello@sha256:1', T1).release;

  it('accepts every state of a release', () => {
    for (const state of ['accepted', 'building', 'deploying'] as const) {
      const data = JSON.parse(releaseStatusMessage(full, state, ctx).data.toString());
      assert.ok(validate(data), JSON.stringify(validate.errors));
    }
  });
  it('accepts a rejected upload', () => {
    const data = JSON.parse(rejectedObjectMessage({bucket: 'b', object: 'X/y.zip', generation: '1'}, {code: 'INVALID_SERVICE_NAME', message: 'm'}, {...ctx, now: T0}).data.toString());
    assert.ok(validate(data), JSON.stringify(validate.errors));
  });
  it('refuses an unknown state (the schema is not vacuous)', () => {
    const data = JSON.parse(releaseStatusMessage(full, 'building', ctx).data.toString());
    assert.equal(validate({...data, state: 'exploded'}), false);
    assert.equal(validate({...data, source: {bucket: 'b'}}), false);
  });
});
