/**
 * The core pipeline end to end, through the Functions Framework over HTTP, with the official
 * client libraries against the Pub/Sub and Firestore emulators and the local Cloud Build and
 * Cloud Run gRPC emulators. Build completion arrives through a real Pub/Sub push subscription.
 */
import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {Stack} from './stack';

const FINAL = ['deployed', 'build_failed', 'deploy_failed', 'superseded', 'rejected'];

describe('core pipeline', {timeout: 120_000}, () => {
  let stack: Stack;
  before(async () => { stack = await Stack.start(); });
  after(async () => { await stack?.stop(); });

  it('(a) one upload: accepted, building, deploying, deployed in order; the service runs the build digest', async () => {
    assert.equal(await stack.upload('hello/v1.tar.gz', '1001'), 204);
    const buildId = stack.buildIdOf('hello', 1);
    const created = stack.build.getBuild(buildId) as {source: {storageSource: {generation: string; object: string}}; images: string[]};
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
    assert.ok(deployed.data.revision);
    assert.ok(deployed.data.url);
    assert.deepEqual(deployed.data.source, {bucket: 'dd-sources', object: 'hello/v1.tar.gz', generation: '1001', size: '1024', md5Hash: 'XrY7u+Ae7tCTyyK7j1rNww==', crc32c: 'yZRlqg==', contentType: 'application/gzip'});
    const svc = stack.run.getService('hello') as {template: {containers: Array<{image: string}>}; labels: Record<string, string>};
    assert.equal(svc.template.containers[0].image, image);
    assert.equal(svc.labels['managed-by'], 'dropdeploy');
    const stored = await (await stack.deps.store()).get('hello', 1);
    assert.equal(stored?.state, 'deployed');
    assert.deepEqual(stored?.published, ['accepted', 'building', 'deploying', 'deployed']);
  });
});

export {FINAL};
