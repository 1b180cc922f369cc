/**
 * The reconciler heals what the event path lost, through the official clients against the
 * emulators: an upload whose `finalized` never came, a build status that was never delivered
 * (its push subscription deleted), a delivery that failed and was never retried, handlers that
 * died holding a build lease or the deploy lock. Two reconcilers and the event path at once
 * still make one release and one build per upload.
 */
import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {Reconciler, type ReconcileReport} from '../../src/controller/reconcile';
import {Logger} from '../../src/log';
import {imageByDigest, releaseImageTag} from '../../src/releases/naming';
import {Stack} from './stack';

const DIGEST = (c: string) => 'sha256:' + c.repeat(64);
const GRACE_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('reconciler', {timeout: 120_000}, () => {
  let stack: Stack;
  let reconciler: Reconciler;
  const run = async (): Promise<ReconcileReport> => {
    await sleep(GRACE_MS + 100);
    return reconciler.run();
  };
  before(async () => {
    stack = await Stack.start({env: {DROPDEPLOY_RECONCILE_GRACE_SECONDS: String(GRACE_MS / 1000)}});
    reconciler = new Reconciler(stack.deps, new Logger({format: 'json', write: (l) => stack.logs.push(l)}));
  });
  after(async () => {
    await stack?.stop();
  });

  it('a run with nothing to do acts on nothing', async () => {
    const report = await run();
    assert.deepEqual(report, {releases: [], uploads: [], errors: 0});
  });

  it('an upload whose finalized event was lost is claimed, once, and built', async () => {
    stack.putObject('lost/v1.zip', '21001');
    const report = await run();
    assert.deepEqual(
      report.uploads.map((u) => [u.object, u.generation, u.action, u.detail]),
      [['lost/v1.zip', '21001', 'accepted', 'building']],
    );
    const r = await (await stack.deps.store()).get('lost', 1);
    assert.equal(r?.state, 'building');
    assert.match(r.actor, /reconciler: no event arrived/);
    assert.ok(
      stack.logs.some((l) => l.includes('gs://dd-sources/lost/v1.zip#21001 was created at') && l.includes('no event announced it')),
    );
    // The event arriving late, and the next run, change nothing.
    assert.equal(await stack.upload('lost/v1.zip', '21001'), 204);
    assert.equal((await run()).uploads.length, 0);
    assert.equal(stack.build.builds().filter((b) => JSON.stringify(b).includes('lost/v1.zip')).length, 1);
  });

  it('a release whose build start failed and was never redelivered is built', async () => {
    stack.build.injectFault({method: 'CreateBuild', code: 14, times: 1});
    assert.equal(await stack.upload('dropped/v1.zip', '22001'), 500, 'the platform would redeliver; here it gives up');
    assert.equal((await (await stack.deps.store()).get('dropped', 1))?.state, 'accepted');
    const report = await run();
    assert.deepEqual(
      report.releases.filter((r) => r.service === 'dropped').map((r) => [r.state, r.action, r.detail]),
      [['accepted', 'build', 'building']],
    );
    assert.equal(stack.build.builds().filter((b) => JSON.stringify(b).includes('dropped/v1.zip')).length, 1);
  });

  it('a handler that died holding the build lease: the lease is taken over once it ends', async () => {
    const store = await stack.deps.store();
    const source = {bucket: 'dd-sources', object: 'dead/v1.zip', generation: '23001'};
    stack.putObject(source.object, source.generation);
    // Claimed 5 s ago with a 3 s lease: the holder is gone.
    await store.claimSource('dead', source, {trigger: 'upload', actor: 'test'}, new Date(Date.now() - 5000), {
      holder: 'dead-handler',
      leaseMs: 3000,
    });
    const report = await run();
    assert.deepEqual(
      report.releases.filter((r) => r.service === 'dead').map((r) => [r.action, r.detail]),
      [['build', 'building']],
    );
    assert.equal(report.uploads.filter((u) => u.object === 'dead/v1.zip').length, 0, 'a claimed generation is not claimed again');
  });

  it('a live lease is left to its holder', async () => {
    const store = await stack.deps.store();
    const source = {bucket: 'dd-sources', object: 'alive/v1.zip', generation: '24001'};
    await store.claimSource('alive', source, {trigger: 'upload', actor: 'test'}, new Date(Date.now() - 5000), {
      holder: 'slow-handler',
      leaseMs: 60_000,
    });
    const report = await run();
    assert.deepEqual(
      report.releases.filter((r) => r.service === 'alive').map((r) => r.action),
      ['busy'],
    );
    assert.equal((await store.get('alive', 1))?.state, 'accepted');
    await store.releaseLease('alive', 1, 'slow-handler');
  });

  it('a handler that died holding the deploy lock: the deploy is finished', async () => {
    await stack.upload('locked/v1.zip', '25001');
    const store = await stack.deps.store();
    const image = imageByDigest(releaseImageTag(stack.config, 'locked', 1), DIGEST('5'));
    assert.equal((await store.leaseDeploy('locked', 1, image, 'dead-deployer', new Date(Date.now() - 60_000), 30_000)).kind, 'go');
    const report = await run();
    assert.deepEqual(
      report.releases.filter((r) => r.service === 'locked').map((r) => [r.state, r.action, r.detail]),
      [['deploying', 'deploy', 'deployed']],
    );
    assert.equal((stack.run.getService('locked') as {template: {containers: Array<{image: string}>}}).template.containers[0].image, image);
  });

  it("a build status that was never delivered: the build's end is read from Cloud Build and deployed", async () => {
    // The push subscription that delivers cloud-builds is gone: no status reaches the controller.
    await stack.pubsub.subscription('controller').delete();
    await stack.upload('silent/v1.zip', '26001');
    await stack.upload('silent/v2.zip', '26002');
    await stack.build.setStatus(stack.buildIdOf('silent', 1), 'SUCCESS', {digest: DIGEST('7')});
    await stack.build.setStatus(stack.buildIdOf('silent', 2), 'FAILURE', {failureDetail: 'npm ERR! missing script: build'});
    const report = await run();
    const got = report.releases.filter((r) => r.service === 'silent').map((r) => [r.release, r.state, r.action]);
    assert.deepEqual(got, [
      [1, 'building', 'deployed'],
      [2, 'building', 'build_failed'],
    ]);
    const v2 = await (await stack.deps.store()).get('silent', 2);
    assert.match(v2!.error!.message, /npm ERR! missing script: build/);
    await stack.waitFor('its deployed event', () => stack.statesOf('silent', 1).includes('deployed'));
    assert.deepEqual(stack.statesOf('silent', 1), ['accepted', 'building', 'deploying', 'deployed']);
    // A build still running is asked again next time, and otherwise left alone.
    await stack.upload('silent/v3.zip', '26003');
    const later = await run();
    assert.deepEqual(
      later.releases.filter((r) => r.service === 'silent').map((r) => [r.release, r.action]),
      [[3, 'wait']],
    );
  });

  it('an unannounced upload older than a release made since is recorded superseded, never built over it', async () => {
    const lostAt = stack.putObject('behind/v1.zip', '28001', 'archive', undefined, new Date(Date.now() - 5000));
    // A later upload's event did arrive, and made v1.
    assert.equal(await stack.upload('behind/v2.zip', '28002', {timeCreated: new Date().toISOString()}), 204);
    const report = await run();
    assert.deepEqual(
      report.uploads.filter((u) => u.object.startsWith('behind/')).map((u) => [u.object, u.action]),
      [['behind/v1.zip', 'superseded']],
    );
    const r = await (await stack.deps.store()).get('behind', 2);
    assert.deepEqual([r?.state, r?.supersededBy, r?.source?.object], ['superseded', 1, 'behind/v1.zip']);
    assert.ok(lostAt < r!.createTime);
    assert.equal(stack.build.builds().filter((b) => JSON.stringify(b).includes('behind/v1.zip')).length, 0, 'never built');
    await stack.waitFor('its superseded event', () => stack.statesOf('behind', 2).includes('superseded'));
    assert.deepEqual(stack.statesOf('behind', 2), ['accepted', 'superseded']);
  });

  it('two reconcilers and the event path at once: one release and one build per upload', async () => {
    const names = ['race-a/v1.zip', 'race-b/v1.zip', 'race-c/v1.zip', 'race-a/v2.zip'];
    const t0 = Date.now() - 5000;
    const created = names.map((n, i) => stack.putObject(n, String(27001 + i), 'archive', undefined, new Date(t0 + i)));
    const second = new Reconciler(stack.deps, new Logger({format: 'json', write: (l) => stack.logs.push(l)}));
    await sleep(GRACE_MS + 100);
    await Promise.all([
      reconciler.run(),
      second.run(),
      ...names.map((n, i) => stack.upload(n, String(27001 + i), {timeCreated: created[i]})),
    ]);
    const store = await stack.deps.store();
    for (const [service, count] of [
      ['race-a', 2],
      ['race-b', 1],
      ['race-c', 1],
    ] as const) {
      assert.equal((await store.getService(service))?.lastRelease, count, service);
    }
    for (const n of names) assert.equal(stack.build.builds().filter((b) => JSON.stringify(b).includes(n)).length, 1, n);
  });
});
