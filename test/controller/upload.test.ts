/**
 * handleUpload's refusals and its duplicate path, over fakes: a refused upload makes no
 * release and announces the refusal under the object's name; a duplicate delivery of a
 * finished release only publishes what is still owed.
 */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {newCtx} from '../../src/controller/deps';
import {handleUpload} from '../../src/controller/upload';
import type {UploadInput} from '../../src/events/input';
import {markBuilding, markDeployed, markDeploying, newRelease, type Release, type Source} from '../../src/releases/release';
import {fakeDeps} from './fakes';

const input = (object: string, metadata: Record<string, string> = {}): UploadInput => ({
  kind: 'upload',
  via: 'storage',
  source: {bucket: 'dd-sources', object, generation: '42'},
  metadata,
});

const T = new Date('2026-12-01T10:00:00Z');

function deployed(published: string[]): Release {
  const r = newRelease(
    {
      service: 'hello',
      release: 3,
      trigger: 'upload',
      actor: 'x',
      source: {bucket: 'dd-sources', object: 'hello/app.zip', generation: '42'},
    },
    T,
  );
  const done = markDeployed(
    markDeploying(markBuilding(r, {buildId: 'b1'}, T).release, 'img@sha256:1', T).release,
    {revision: 'hello-00003', url: 'https://hello.run.app'},
    T,
  ).release;
  return {...done, published: published as Release['published']};
}

describe('handleUpload: refusals', () => {
  const refusals: Array<[string, string, Record<string, string>, string, RegExp]> = [
    ['a service name that is no Cloud Run id', 'Hello_World/app.zip', {}, 'INVALID_SERVICE_NAME', /Hello_World/],
    [
      'a signature type without a function target',
      'hello/app.zip',
      {'function-signature-type': 'http'},
      'INVALID_METADATA',
      /function-signature-type is set but function-target is not; set both/,
    ],
    [
      'a function target that is no function name',
      'hello/app.zip',
      {'function-target': 'rm -rf'},
      'INVALID_METADATA',
      /function-target="rm -rf" is not a JavaScript function name/,
    ],
    [
      'an unknown signature type',
      'hello/app.zip',
      {'function-target': 'main', 'function-signature-type': 'grpc'},
      'INVALID_METADATA',
      /"grpc" is not one of http, event, cloudevent/,
    ],
    [
      'an unknown rollout strategy',
      'hello/app.zip',
      {'dropdeploy-rollout': 'yolo'},
      'INVALID_METADATA',
      /metadata dropdeploy-rollout is "yolo", neither a strategy \(immediate, verified, canary\)/,
    ],
    [
      'a rollout policy with a bad field',
      'hello/app.zip',
      {'dropdeploy-rollout': '{"strategy":"canary","steps":[50,20,100]}'},
      'INVALID_METADATA',
      /metadata dropdeploy-rollout field steps\[1\] must be above the step before it/,
    ],
  ];
  for (const [name, object, metadata, code, reason] of refusals) {
    it(`${name}: rejected (${code}), announced under the object, no release made`, async () => {
      const f = fakeDeps();
      const out = await handleUpload(newCtx(f.deps, f.log), input(object, metadata));
      assert.equal(out.action, 'rejected');
      assert.match(out.detail ?? '', reason);
      assert.equal(f.publisher.messages.length, 1);
      const m = f.publisher.messages[0];
      assert.equal(m.attributes['ce-type'], 'dev.dropdeploy.release.v1.rejected');
      const data = JSON.parse(m.data.toString()) as {error: {code: string; message: string}; source: {object: string; generation: string}};
      assert.equal(data.error.code, code);
      assert.match(data.error.message, reason);
      assert.deepEqual([data.source.object, data.source.generation], [object, '42']);
    });
  }

  it('a rejection whose announcement fails is redelivered, not dropped', async () => {
    const f = fakeDeps();
    f.publisher.fail = new Error('Pub/Sub unavailable');
    await assert.rejects(handleUpload(newCtx(f.deps, f.log), input('Bad_Name/app.zip')), /Pub\/Sub unavailable/);
  });
});

describe('handleUpload: a rollout override', () => {
  it('is recorded on the release source', async () => {
    const claimed: Source[] = [];
    const f = fakeDeps({
      store: {
        claimSource: (_service, source) => {
          claimed.push(source);
          return Promise.resolve({release: deployed(['accepted', 'building', 'deploying', 'deployed']), created: false});
        },
      },
    });
    await handleUpload(
      newCtx(f.deps, f.log),
      input('hello/app.zip', {'dropdeploy-rollout': '{"strategy":"canary","check":{"path":"/ready"}}'}),
    );
    assert.deepEqual(
      claimed.map((s) => s.rollout),
      [{strategy: 'canary', check: {path: '/ready'}}],
    );
  });
  it('is left out when the metadata has none', async () => {
    const claimed: Source[] = [];
    const f = fakeDeps({
      store: {
        claimSource: (_service, source) => {
          claimed.push(source);
          return Promise.resolve({release: deployed(['accepted', 'building', 'deploying', 'deployed']), created: false});
        },
      },
    });
    await handleUpload(newCtx(f.deps, f.log), input('hello/app.zip'));
    assert.equal('rollout' in claimed[0], false);
  });
});

describe('handleUpload: a duplicate delivery', () => {
  it('of a deployed, fully announced release: nothing published, no build, no deploy', async () => {
    const claims: string[] = [];
    const f = fakeDeps({
      store: {
        claimSource: (service, source) => {
          claims.push(`${service} ${source.object}#${source.generation}`);
          return Promise.resolve({release: deployed(['accepted', 'building', 'deploying', 'deployed']), created: false});
        },
      },
    });
    const out = await handleUpload(newCtx(f.deps, f.log), input('hello/app.zip'));
    assert.deepEqual(out, {action: 'duplicate', detail: 'deployed', service: 'hello', release: 3});
    assert.deepEqual(claims, ['hello hello/app.zip#42']);
    assert.deepEqual(f.publisher.messages, []);
  });

  it('of a release whose last event was lost: that event is published, then recorded', async () => {
    const marked: string[][] = [];
    const f = fakeDeps({
      store: {
        claimSource: () => Promise.resolve({release: deployed(['accepted', 'building', 'deploying']), created: false}),
        markPublished: (_s, _r, states) => {
          marked.push(states);
          return Promise.resolve();
        },
      },
    });
    await handleUpload(newCtx(f.deps, f.log), input('hello/app.zip'));
    assert.deepEqual(
      f.publisher.messages.map((m) => m.attributes['ce-type']),
      ['dev.dropdeploy.release.v1.deployed'],
    );
    assert.deepEqual(marked, [['deployed']]);
  });
});
