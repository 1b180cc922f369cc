/**
 * The core pipeline end to end, through the Functions Framework over HTTP, with the official
 * client libraries against the Pub/Sub and Firestore emulators and the local Cloud Build and
 * Cloud Run gRPC emulators. Build completion arrives through a real Pub/Sub push subscription.
 */
import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {grpc} from 'google-gax';
import {CloudBuildClient} from '@google-cloud/cloudbuild';
import {ServicesClient} from '@google-cloud/run';
import {validateEventData} from '../event-schema';
import {buildSpec} from '../../src/releases/build-request';
import {imageByDigest, releaseImageTag} from '../../src/releases/naming';
import {Firestore} from '@google-cloud/firestore';
import {deployRelease} from '../../src/controller/deploy';
import {newCtx} from '../../src/controller/deps';
import {handleEvent} from '../../src/controller/handle-event';
import {Logger} from '../../src/log';
import {Stack} from './stack';
import type {StoredBuild} from '../../local/cloud-build/emulator';

const DIGEST = (c: string) => 'sha256:' + c.repeat(64);

/** Releases stored for a service, via the store's own reads. */
async function releaseCount(stack: Stack, service: string): Promise<number> {
  const store = await stack.deps.store();
  let n = 0;
  while (await store.get(service, n + 1)) n++;
  return n;
}

/** A SUCCESS status of one of our builds, delivered directly as Eventarc would (not via Pub/Sub). */
function postBuildSucceeded(stack: Stack, id: string, service: string, release: number): Promise<number> {
  return stack.postEvent(
    'google.cloud.cloudbuild.build.v1.statusChanged',
    {
      id,
      status: 'SUCCESS',
      tags: ['dropdeploy', `dd-dropdeploy-${service}-v${release}`],
      substitutions: {_DD_ROOT: 'dropdeploy', _DD_SERVICE: service, _DD_RELEASE: String(release)},
    },
    `//cloudbuild.googleapis.com/projects/${stack.config.projectId}/locations/global/builds/${id}`,
  );
}

describe('core pipeline', {timeout: 120_000}, () => {
  let stack: Stack;
  before(async () => {
    stack = await Stack.start();
  });
  after(async () => {
    await stack?.stop();
  });

  it('(a) one upload: accepted, building, deploying, deployed in order; the service runs the build digest', async () => {
    assert.equal(await stack.upload('hello/v1.tar.gz', '1001'), 204);
    const buildId = stack.buildIdOf('hello', 1);
    const created = stack.build.getBuild(buildId) as StoredBuild & {
      source: {storageSource: {generation: string; object: string}};
      images: string[];
    };
    assert.equal(created.source.storageSource.generation, '1001');
    assert.equal(created.source.storageSource.object, 'hello/v1.tar.gz');
    await stack.build.setStatus(buildId, 'WORKING');
    await stack.build.setStatus(buildId, 'SUCCESS', {digest: 'sha256:' + 'a'.repeat(64)});
    await stack.waitFor('v1 deployed event', () => stack.statesOf('hello', 1).includes('deployed'));
    assert.deepEqual(stack.statesOf('hello', 1), ['accepted', 'building', 'deploying', 'deployed']);
    const deployed = stack.events.find((e) => e.subject === 'services/hello/releases/1' && e.data.state === 'deployed')!;
    assert.equal(deployed.type, 'dev.dropdeploy.release.v1.deployed');
    assert.equal(deployed.orderingKey, 'hello');
    assert.equal(deployed.id, 'hello/1/deployed');
    const image = 'europe-west1-docker.pkg.dev/' + stack.config.projectId + '/dropdeploy/hello@sha256:' + 'a'.repeat(64);
    assert.equal(deployed.data.image, image);
    assert.equal(deployed.data.buildId, buildId);
    for (const e of stack.events) assert.ok(validateEventData(e.data), JSON.stringify(validateEventData.errors));
    assert.ok(deployed.data.revision);
    assert.ok(deployed.data.url);
    assert.deepEqual(deployed.data.source, {
      bucket: 'dd-sources',
      object: 'hello/v1.tar.gz',
      generation: '1001',
      size: '1024',
      md5Hash: 'XrY7u+Ae7tCTyyK7j1rNww==',
      crc32c: 'yZRlqg==',
      contentType: 'application/gzip',
    });
    const svc = stack.run.getService('hello') as {template: {containers: Array<{image: string}>}; labels: Record<string, string>};
    assert.equal(svc.template.containers[0].image, image);
    assert.equal(svc.labels['managed-by'], 'dropdeploy');
    const stored = await (await stack.deps.store()).get('hello', 1);
    assert.equal(stored?.state, 'deployed');
    assert.deepEqual(stored?.published, ['accepted', 'building', 'deploying', 'deployed']);
  });

  it('(b) 10 concurrent deliveries of one upload plus its Pub/Sub notification: one release, one build', async () => {
    const deliveries = [...Array.from({length: 10}, () => stack.upload('dup/app.zip', '2001')), stack.notify('dup/app.zip', '2001')];
    const statuses = await Promise.all(deliveries);
    assert.deepEqual(statuses, Array(11).fill(204));
    assert.equal(await releaseCount(stack, 'dup'), 1);
    const builds = stack.build.callsTo('CreateBuild').filter((c) => JSON.stringify(c.request).includes('dup/app.zip'));
    assert.equal(builds.length, 1);
    const r = await (await stack.deps.store()).get('dup', 1);
    assert.equal(r?.state, 'building');
    await stack.waitFor('accepted and building events', () => new Set(stack.statesOf('dup', 1)).size === 2);
    // Once more after it settled: still nothing new.
    assert.equal(await stack.upload('dup/app.zip', '2001'), 204);
    assert.equal(await releaseCount(stack, 'dup'), 1);
    assert.equal(stack.build.callsTo('CreateBuild').filter((c) => JSON.stringify(c.request).includes('dup/app.zip')).length, 1);
    // A new generation of the same object is a new source.
    assert.equal(await stack.upload('dup/app.zip', '2002'), 204);
    assert.equal(await releaseCount(stack, 'dup'), 2);
  });

  it('(c) v2 finishes before v1: v2 deployed, v1 superseded, the service keeps v2', async () => {
    await stack.upload('race/v1.tgz', '3001');
    await stack.upload('race/v2.tgz', '3002');
    const [b1, b2] = [stack.buildIdOf('race', 1), stack.buildIdOf('race', 2)];
    await stack.build.setStatus(b2, 'SUCCESS', {digest: DIGEST('2')});
    await stack.waitFor('v2 deployed', () => stack.statesOf('race', 2).includes('deployed'));
    await stack.build.setStatus(b1, 'SUCCESS', {digest: DIGEST('1')});
    await stack.waitFor('v1 superseded', () => stack.statesOf('race', 1).includes('superseded'));
    const v1 = await (await stack.deps.store()).get('race', 1);
    assert.equal(v1?.state, 'superseded');
    assert.equal(v1?.supersededBy, 2);
    assert.ok(!stack.statesOf('race', 1).includes('deploying'), 'v1 never started deploying');
    const svc = stack.run.getService('race') as {template: {containers: Array<{image: string}>}};
    assert.match(svc.template.containers[0].image, /@sha256:2{64}$/);
    assert.equal(stack.run.revisions('race').length, 1, 'only v2 made a revision');
  });

  it('(d) a failed build: build_failed with the status, detail and log URL; nothing deployed', async () => {
    await stack.upload('broken/v1.zip', '4001');
    const id = stack.buildIdOf('broken', 1);
    await stack.build.setStatus(id, 'WORKING');
    await stack.build.setStatus(id, 'FAILURE', {failureDetail: 'Step #0 - "build": npm ERR! missing script: build'});
    await stack.waitFor('build_failed', () => stack.statesOf('broken', 1).includes('build_failed'));
    const ev = stack.events.find((e) => e.subject === 'services/broken/releases/1' && e.data.state === 'build_failed')!;
    const error = ev.data.error as {code: string; message: string};
    assert.equal(error.code, 'BUILD_FAILURE');
    assert.match(error.message, /ended FAILURE: Step #0 - "build": npm ERR! missing script: build; logs: http/);
    assert.ok(ev.data.buildLogUrl);
    assert.equal(stack.run.getService('broken'), undefined);
    assert.deepEqual(stack.statesOf('broken', 1), ['accepted', 'building', 'build_failed']);
  });

  it('(e) Cloud Run answers UNAVAILABLE once: the handler fails, Pub/Sub redelivers, the deploy completes', async () => {
    await stack.upload('flaky/v1.zip', '5001');
    stack.run.injectFault({method: 'CreateService', code: grpc.status.UNAVAILABLE, times: 1});
    await stack.build.setStatus(stack.buildIdOf('flaky', 1), 'SUCCESS', {digest: DIGEST('e')});
    await stack.waitFor('flaky deployed', () => stack.statesOf('flaky', 1).includes('deployed'));
    assert.equal(
      stack.run.callsTo('CreateService').filter((c) => JSON.stringify(c.request).includes('flaky')).length,
      2,
      'one failed, one redelivered',
    );
    assert.ok(
      stack.logs.some((l) => l.includes('will be redelivered') && l.includes('UNAVAILABLE')),
      'the failure was reported for redelivery',
    );
    assert.equal(await releaseCount(stack, 'flaky'), 1);
    assert.equal(stack.run.revisions('flaky').length, 1);
  });

  it('(o) polls of the rollout that fail (GetOperation UNAVAILABLE) do not fail the deploy: the same delivery finishes it', async () => {
    await stack.upload('poll/v1.zip', '15001');
    const before = stack.logs.filter((l) => l.includes('will be redelivered')).length;
    stack.run.injectFault({method: 'GetOperation', code: grpc.status.UNAVAILABLE, times: 2});
    await stack.build.setStatus(stack.buildIdOf('poll', 1), 'SUCCESS', {digest: DIGEST('f')});
    await stack.waitFor('poll deployed', () => stack.statesOf('poll', 1).includes('deployed'));
    assert.equal(stack.run.callsTo('GetOperation').filter((c) => c.faulted).length, 2, 'both faults hit polls');
    assert.equal(
      stack.run.callsTo('CreateService').filter((c) => JSON.stringify(c.request).includes('"poll"')).length,
      1,
      'one rollout, not one per delivery',
    );
    assert.equal(stack.logs.filter((l) => l.includes('will be redelivered')).length, before, 'no delivery failed');
    assert.equal(stack.run.revisions('poll').length, 1);
  });

  it('(f) a build the controller did not start is ignored', async () => {
    const client = new CloudBuildClient({apiEndpoint: '127.0.0.1', port: stack.build.port, sslCreds: grpc.credentials.createInsecure()});
    try {
      const [op] = await client.createBuild({
        projectId: stack.config.projectId,
        build: {steps: [{name: 'ubuntu', args: ['true']}], tags: ['nightly'], images: ['x/other:1']},
      });
      const foreign = (op.metadata as unknown as {build: {id: string}}).build.id;
      // Another build that claims our substitutions but lacks our tag: still not ours.
      const [op2] = await client.createBuild({
        projectId: stack.config.projectId,
        build: {steps: [{name: 'ubuntu'}], substitutions: {_DD_SERVICE: 'hello', _DD_RELEASE: '1'}},
      });
      const impostor = (op2.metadata as unknown as {build: {id: string}}).build.id;
      const before = stack.events.length;
      await stack.build.setStatus(foreign, 'SUCCESS');
      await stack.build.setStatus(impostor, 'SUCCESS');
      await stack.waitFor('both builds seen', () =>
        [foreign, impostor].every((id) => stack.logs.some((l) => l.includes(id) && l.includes('ignored'))),
      );
      assert.equal(stack.events.length, before);
      assert.equal(stack.run.services().length, new Set(stack.run.services().map((s) => (s as {name: string}).name)).size);
      assert.ok(!stack.run.callsTo('UpdateService').some((c) => JSON.stringify(c.request).includes('x/other')));
    } finally {
      await client.close();
    }
  });

  it('(g) settings an operator set on the service (env var, memory) survive an update', async () => {
    const client = new ServicesClient({apiEndpoint: '127.0.0.1', port: stack.run.port, sslCreds: grpc.credentials.createInsecure()});
    try {
      await stack.upload('keep/v1.zip', '7001');
      await stack.build.setStatus(stack.buildIdOf('keep', 1), 'SUCCESS', {digest: DIGEST('7')});
      await stack.waitFor('keep v1 deployed', () => stack.statesOf('keep', 1).includes('deployed'));
      const name = `projects/${stack.config.projectId}/locations/europe-west1/services/keep`;
      const [svc] = await client.getService({name});
      svc.template!.containers![0].env = [{name: 'GREETING', value: 'hello from ops'}];
      svc.template!.containers![0].resources = {limits: {memory: '1Gi', cpu: '2'}};
      svc.labels = {...svc.labels, team: 'payments'};
      const [op] = await client.updateService({service: svc});
      await op.promise();
      await stack.upload('keep/v2.zip', '7002');
      await stack.build.setStatus(stack.buildIdOf('keep', 2), 'SUCCESS', {digest: DIGEST('8')});
      await stack.waitFor('keep v2 deployed', () => stack.statesOf('keep', 2).includes('deployed'));
      const [now] = await client.getService({name});
      const c = now.template!.containers![0];
      assert.match(c.image!, /@sha256:8{64}$/);
      assert.deepEqual(
        c.env?.map((e) => [e.name, e.value]),
        [['GREETING', 'hello from ops']],
      );
      assert.equal(c.resources?.limits?.memory, '1Gi');
      assert.equal(now.labels?.team, 'payments');
      assert.equal(now.labels?.['dropdeploy-release'], 'v2');
    } finally {
      await client.close();
    }
  });

  it('(h) a redelivery during a running deploy waits for it and starts no second deploy', async () => {
    await stack.upload('slow/v1.zip', '8001');
    const id = stack.buildIdOf('slow', 1);
    stack.run.injectFault({method: 'CreateService', delayMs: 1500, times: 1});
    await stack.build.setStatus(id, 'SUCCESS', {digest: DIGEST('5')});
    await stack.waitFor('deploy started', () => stack.run.callsTo('CreateService').some((c) => JSON.stringify(c.request).includes('slow')));
    // The same status again, directly, while the first delivery is still deploying.
    const status = await postBuildSucceeded(stack, id, 'slow', 1);
    assert.equal(status, 204);
    const stored = await (await stack.deps.store()).get('slow', 1);
    assert.equal(stored?.state, 'deployed', 'the duplicate answered only after the deploy finished');
    assert.equal(stack.run.callsTo('CreateService').filter((c) => JSON.stringify(c.request).includes('slow')).length, 1);
    assert.equal(stack.run.callsTo('UpdateService').filter((c) => JSON.stringify(c.request).includes('slow')).length, 0);
  });

  it('an invalid service name is rejected: no release, no build, a rejected event naming the object', async () => {
    const builds = stack.build.callsTo('CreateBuild').length;
    assert.equal(await stack.upload('Bad_Name/v1.zip', '9001'), 204);
    const ev = await stack.waitFor('rejected event', () => stack.events.find((e) => e.subject === 'objects/Bad_Name/v1.zip'));
    assert.equal(ev.type, 'dev.dropdeploy.release.v1.rejected');
    assert.match((ev.data.error as {message: string}).message, /uppercase/);
    assert.equal(stack.build.callsTo('CreateBuild').length, builds);
  });

  it('malformed and foreign events are acknowledged, not retried', async () => {
    assert.equal(await stack.postEvent('com.example.unknown', {x: 1}), 204);
    assert.equal(await stack.postEvent('google.cloud.storage.object.v1.finalized', {bucket: 'dd-sources'}), 204);
    assert.equal(await stack.upload('hello/v9.zip', '1', {bucket: 'someone-elses-bucket'}), 204);
    assert.equal(await stack.upload('hello/readme.txt', '1'), 204);
    assert.ok(stack.logs.some((l) => l.includes('unsupported event type')));
    assert.ok(stack.logs.some((l) => l.includes('someone-elses-bucket is not a source bucket')));
  });

  it("(i) a revision that fails to start: deploy_failed with Cloud Run's message", async () => {
    // The default revision runner of the local Cloud Run fails images whose name contains "crash".
    await stack.upload('crash/v1.zip', '10001');
    await stack.build.setStatus(stack.buildIdOf('crash', 1), 'SUCCESS', {digest: DIGEST('c')});
    await stack.waitFor('deploy_failed', () => stack.statesOf('crash', 1).includes('deploy_failed'));
    const r = await (await stack.deps.store()).get('crash', 1);
    assert.equal(r?.error?.code, 'REVISION_FAILED');
    assert.match(r.error.message, /is not ready and cannot serve traffic/);
    assert.deepEqual(stack.statesOf('crash', 1), ['accepted', 'building', 'deploying', 'deploy_failed']);
  });

  it('(j) Cloud Build answers UNAVAILABLE on CreateBuild: the upload handler fails, the redelivery creates exactly one build', async () => {
    stack.build.injectFault({method: 'CreateBuild', code: grpc.status.UNAVAILABLE, times: 1});
    assert.equal(await stack.upload('retry/v1.zip', '11001'), 500, 'the platform is asked to redeliver');
    assert.equal(await stack.upload('retry/v1.zip', '11001'), 204, 'the redelivery succeeds');
    const calls = stack.build.callsTo('CreateBuild').filter((c) => JSON.stringify(c.request).includes('retry/v1.zip'));
    assert.equal(calls.length, 2, 'one faulted call, one real');
    assert.equal(stack.build.builds().filter((b) => JSON.stringify(b).includes('retry/v1.zip')).length, 1);
    assert.ok(stack.build.callsTo('ListBuilds').length >= 1, 'the retry looked for a build of the earlier attempt first');
    assert.equal(await releaseCount(stack, 'retry'), 1);
    assert.equal((await (await stack.deps.store()).get('retry', 1))?.state, 'building');
  });

  it("(l) a newer deploy that stopped half way is finished by an older release's delivery, not left to its own redelivery", async () => {
    await stack.upload('stall/v1.zip', '12001');
    await stack.upload('stall/v2.zip', '12002');
    const store = await stack.deps.store();
    const image2 = imageByDigest(releaseImageTag(stack.config, 'stall', 2), DIGEST('b'));
    // v2's handler took the lock, moved v2 to deploying and failed before Cloud Run took the
    // update, letting the lock go — exactly what a retryable failure leaves behind. Its own
    // build status is never redelivered here.
    assert.equal((await store.leaseDeploy('stall', 2, image2, 'failed-handler', new Date(), 60_000)).kind, 'go');
    await store.releaseLease('stall', 2, 'failed-handler');
    await stack.build.setStatus(stack.buildIdOf('stall', 1), 'SUCCESS', {digest: DIGEST('a')});
    await stack.waitFor('v1 superseded', () => stack.statesOf('stall', 1).includes('superseded'));
    const [v1, v2] = [await store.get('stall', 1), await store.get('stall', 2)];
    assert.equal(v2?.state, 'deployed');
    assert.equal(v1?.state, 'superseded');
    assert.equal(v1?.supersededBy, 2);
    const svc = stack.run.getService('stall') as {template: {containers: Array<{image: string}>}};
    assert.equal(svc.template.containers[0].image, image2);
    assert.ok(stack.logs.some((l) => l.includes('finishing the interrupted deploy of stall v2')));
    assert.deepEqual(stack.statesOf('stall', 2).slice(-2), ['deploying', 'deployed']);
  });

  it('(m) a terminal status that GetBuild does not confirm yet is redelivered, not acknowledged', async () => {
    await stack.upload('early/v1.zip', '13001');
    const id = stack.buildIdOf('early', 1);
    await stack.build.setStatus(id, 'WORKING');
    const status = await postBuildSucceeded(stack, id, 'early', 1);
    assert.equal(status, 500, 'the platform must redeliver');
    assert.ok(stack.logs.some((l) => l.includes(`build ${id}: the status message says SUCCESS but GetBuild says WORKING`)));
    assert.equal((await (await stack.deps.store()).get('early', 1))?.state, 'building');
    await stack.build.setStatus(id, 'SUCCESS', {digest: DIGEST('c')});
    await stack.waitFor('early deployed', () => stack.statesOf('early', 1).includes('deployed'));
  });

  it("(n) a build its starter never recorded is adopted by its status only once the starter's lease ends", async () => {
    const store = await stack.deps.store();
    const source = {bucket: 'dd-sources', object: 'orphan/v1.zip', generation: '14001'};
    // A starter that claimed the upload and created the build, and has not recorded it yet
    // (it is about to, or it died): it holds the build lease.
    const {release} = await store.claimSource('orphan', source, {trigger: 'upload', actor: 'test'}, new Date(), {
      holder: 'starter',
      leaseMs: 60_000,
    });
    const {buildId} = await (await stack.deps.builds()).create(buildSpec(stack.config, release, source));
    await stack.build.setStatus(buildId, 'SUCCESS', {digest: DIGEST('d')});
    await stack.waitFor('the status handled', () =>
      stack.build.callsTo('GetBuild').some((c) => JSON.stringify(c.request).includes(buildId)),
    );
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await store.get('orphan', 1))?.state, 'accepted', 'not adopted while the starter may still record it');
    assert.deepEqual(stack.statesOf('orphan', 1), []);
    await store.releaseLease('orphan', 1, 'starter');
    await stack.waitFor('orphan deployed', () => stack.statesOf('orphan', 1).includes('deployed'));
    assert.deepEqual(stack.statesOf('orphan', 1), ['accepted', 'building', 'deploying', 'deployed']);
    assert.equal((await store.get('orphan', 1))?.buildId, buildId);
  });

  // (k) and (q): a service of the same name that this installation does not own.
  const notOurs: Array<{name: string; service: string; generation: string; labels: Record<string, string>; why: RegExp}> = [
    {
      name: '(k) a managed-elsewhere service of the same name is never touched',
      service: 'foreign',
      generation: '12001',
      labels: {team: 'other'},
      why: /not managed by dropdeploy/,
    },
    {
      name: '(q) a service of another dropdeploy installation is never touched',
      service: 'theirs',
      generation: '17001',
      labels: {'managed-by': 'dropdeploy', 'dropdeploy-installation': 'staging', 'dropdeploy-release': 'v1'},
      why: /managed by another dropdeploy installation \("staging"\)/,
    },
  ];
  for (const f of notOurs) {
    it(f.name, async () => {
      const client = new ServicesClient({apiEndpoint: '127.0.0.1', port: stack.run.port, sslCreds: grpc.credentials.createInsecure()});
      try {
        const [op] = await client.createService({
          parent: `projects/${stack.config.projectId}/locations/europe-west1`,
          serviceId: f.service,
          service: {labels: f.labels, template: {containers: [{image: 'gcr.io/other/app:1'}]}},
        });
        await op.promise();
        await stack.upload(`${f.service}/v1.zip`, f.generation);
        await stack.build.setStatus(stack.buildIdOf(f.service, 1), 'SUCCESS', {digest: DIGEST('f')});
        await stack.waitFor('deploy_failed', () => stack.statesOf(f.service, 1).includes('deploy_failed'));
        const r = await (await stack.deps.store()).get(f.service, 1);
        assert.equal(r?.error?.code, 'NOT_MANAGED');
        assert.match(r.error.message, f.why);
        assert.equal(stack.run.callsTo('UpdateService').filter((c) => JSON.stringify(c.request).includes(f.service)).length, 0);
      } finally {
        await client.close();
      }
    });
  }

  it("(p) a handler frozen past its lock cannot put older code back: the live service's release fences it", async () => {
    await stack.upload('fence/v1.zip', '16001');
    await stack.upload('fence/v2.zip', '16002');
    const [id1, id2] = [stack.buildIdOf('fence', 1), stack.buildIdOf('fence', 2)];
    const image2 = imageByDigest(releaseImageTag(stack.config, 'fence', 2), DIGEST('2'));
    // v1's handler takes the deploy lock, then freezes before it reads the service (its
    // GetService answers 3 s late, reading the state of then).
    stack.run.injectFault({method: 'GetService', delayMs: 3000, times: 1});
    const reads = stack.run.callsTo('GetService').length;
    await stack.build.setStatus(id1, 'SUCCESS', {digest: DIGEST('1')});
    await stack.waitFor('v1 holding the lock', () => stack.run.callsTo('GetService').length > reads);
    // Meanwhile a delivery whose clock is past v1's lease takes the lock over and deploys v2.
    await stack.build.setStatus(id2, 'SUCCESS', {digest: DIGEST('2')});
    const later = {...stack.deps, now: () => new Date(Date.now() + (stack.config.leaseSeconds + 1) * 1000)};
    const b2 = stack.build.getBuild(id2) as StoredBuild & {tags: string[]; substitutions: Record<string, string>};
    const outcome = await handleEvent(
      later,
      {
        specversion: '1.0',
        id: 'late-2',
        type: 'google.cloud.cloudbuild.build.v1.statusChanged',
        source: '//cloudbuild.googleapis.com/projects/p/locations/global/builds/' + id2,
        data: {id: id2, status: 'SUCCESS', tags: b2.tags, substitutions: b2.substitutions},
      },
      new Logger({format: 'json', write: (l) => stack.logs.push(l)}),
    );
    assert.equal(outcome.action, 'deployed');
    // v1's handler wakes up, reads the service v2 serves, and stands down.
    await stack.waitFor('v1 superseded', () => stack.statesOf('fence', 1).includes('superseded'));
    const v1 = await (await stack.deps.store()).get('fence', 1);
    assert.equal(v1?.supersededBy, 2);
    const svc = stack.run.getService('fence') as {template: {containers: Array<{image: string}>}; labels: Record<string, string>};
    assert.equal(svc.template.containers[0].image, image2);
    assert.equal(svc.labels['dropdeploy-release'], 'v2');
    const writes = [...stack.run.callsTo('CreateService'), ...stack.run.callsTo('UpdateService')].filter((c) =>
      JSON.stringify(c.request).includes(DIGEST('1')),
    );
    assert.equal(writes.length, 0, "v1's image was never sent to Cloud Run");
  });

  it('(r) the deploy lock is renewed while its holder waits for the rollout, and only then let go', async () => {
    await stack.upload('renew/v1.zip', '18001');
    const store = await stack.deps.store();
    const r = (await store.get('renew', 1))!;
    // The shortest limits there are (renewal every 3.3 s); the rollout takes 5 s.
    const short = {...stack.deps, config: {...stack.config, functionTimeoutSeconds: 9, leaseSeconds: 10, waitSeconds: 5}};
    stack.run.injectFault({method: 'CreateService', delayMs: 5000, times: 1});
    const db = new Firestore({projectId: stack.config.projectId});
    const lock = async () =>
      (await db.collection(`${stack.config.firestore.root}_services`).doc('renew').get()).data()?.lock as
        {until: number} | null | undefined;
    try {
      const deploying = deployRelease(
        newCtx(short, new Logger({format: 'json', write: (l) => stack.logs.push(l)})),
        r,
        imageByDigest(releaseImageTag(stack.config, 'renew', 1), DIGEST('9')),
      );
      const first = await stack.waitFor('the lock taken', lock);
      await new Promise((res) => setTimeout(res, 4000));
      const renewed = await lock();
      assert.ok(renewed && renewed.until > first.until, `renewed: ${JSON.stringify({first, renewed})}`);
      assert.equal((await deploying).state, 'deployed');
      assert.equal(await lock(), null, 'the lock is let go once the outcome is recorded');
    } finally {
      await db.terminate();
    }
  });

  it("(s) a build that carries a release's tag but builds another source is not adopted", async () => {
    const store = await stack.deps.store();
    const source = {bucket: 'dd-sources', object: 'impostor/v1.zip', generation: '19001'};
    const {release} = await store.claimSource('impostor', source, {trigger: 'upload', actor: 'test'}, new Date(), {
      holder: 'starter',
      leaseMs: 60_000,
    });
    await store.releaseLease('impostor', 1, 'starter');
    // Anyone who may create builds can copy the tags and substitutions onto a build of their own.
    const spec = buildSpec(stack.config, release, {...source, object: 'impostor/evil.zip'});
    const {buildId} = await (await stack.deps.builds()).create(spec);
    await stack.build.setStatus(buildId, 'SUCCESS', {digest: DIGEST('6')});
    await stack.waitFor('the impostor refused', () =>
      stack.logs.some((l) =>
        l.includes(
          `build ${buildId} carries the tag of impostor v1 but is not its build (it built gs://dd-sources/impostor/evil.zip#19001`,
        ),
      ),
    );
    assert.equal((await store.get('impostor', 1))?.state, 'accepted');
    assert.equal(stack.run.getService('impostor'), undefined);
    // The release's own delivery still builds its own source (the impostor is not adopted by the start either).
    assert.equal(await stack.upload('impostor/v1.zip', '19001'), 204);
    const own = stack.build.builds().filter((b) => JSON.stringify(b).includes('impostor/v1.zip'));
    assert.equal(own.length, 1);
    assert.equal((await store.get('impostor', 1))?.buildId, (own[0] as {id: string}).id);
  });
});
