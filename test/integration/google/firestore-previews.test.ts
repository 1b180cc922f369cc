/**
 * The preview half of the Firestore store, against the Firestore emulator: a preview's releases
 * are numbered with the main line's but never supersede it; newest wins within one preview; a
 * removal covers what was claimed before it and is refused for an overwritten generation; the
 * list shows what each tag serves.
 */
import assert from 'node:assert/strict';
import {randomUUID} from 'node:crypto';
import {describe, it} from 'node:test';
import type {Release} from '../../../src/releases/release';
import {emulatorStore} from './store-fixture';

const MINUTE = 60_000;

describe('Firestore store: previews', () => {
  const fx = emulatorStore('p');

  const lease = {holder: 'starter', leaseMs: MINUTE};
  const claim = (service: string, object: string, generation: string, preview?: string) =>
    fx.store.claimSource(
      service,
      {bucket: 'b', object, generation},
      {trigger: 'upload', actor: 'test', ...(preview ? {preview: {name: preview}} : {})},
      new Date(),
      lease,
    );

  /** Leases and finishes the deploy of `r` as `revision`; returns the finished record. */
  async function deploy(r: Release, revision: string, url: string): Promise<Release> {
    const holder = `deployer-${r.release}`;
    const l = await fx.store.leaseDeploy(r.service, r.release, `img@sha256:${r.release}`, holder, new Date(), MINUTE);
    assert.equal(l.kind, 'go', `v${r.release} should get the deploy lock: ${JSON.stringify(l)}`);
    return fx.store.finishDeploy(r.service, r.release, {revision, url}, holder, new Date());
  }

  it('a preview deploy neither supersedes the main line nor is superseded by it', async () => {
    const svc = `svc-${randomUUID().slice(0, 6)}`;
    const main1 = (await claim(svc, `${svc}/app.tgz`, '1')).release;
    const pr = (await claim(svc, `${svc}/previews/pr-1.tgz`, '2', 'pr-1')).release;
    const main2 = (await claim(svc, `${svc}/app.tgz`, '3')).release;
    assert.deepEqual([main1.release, pr.release, main2.release], [1, 2, 3], 'one numbering for both lines');
    assert.deepEqual(pr.preview, {name: 'pr-1'});

    assert.equal((await deploy(main2, `${svc}-r3`, 'https://main')).state, 'deployed');
    // The preview is older than the deployed main-line release and still deploys.
    assert.equal((await deploy(pr, `${svc}-p2`, 'https://pr-1---main')).state, 'deployed');
    // The main line's own newest-wins still holds: v1 is older than the deployed v3.
    const l = await fx.store.leaseDeploy(svc, 1, 'img@sha256:1', 'late', new Date(), MINUTE);
    assert.equal(l.kind, 'done');
    assert.equal(l.release.state, 'superseded');
    assert.equal(l.release.supersededBy, 3, 'superseded by the main line, not by the preview');

    const mine = (await fx.store.listServices()).find((s) => s.service === svc);
    assert.equal(mine?.deployed?.release, 3, 'the service serves the main line; a preview never becomes the deployed release');
    assert.deepEqual(await fx.store.listPreviews(svc), [
      {
        name: 'pr-1',
        latestRelease: 2,
        release: 2,
        revision: `${svc}-p2`,
        url: 'https://pr-1---main',
        time: (await fx.store.get(svc, 2))!.updateTime,
      },
    ]);
  });

  it('within one preview the newest release wins; an older one that deploys late is superseded', async () => {
    const svc = `svc-${randomUUID().slice(0, 6)}`;
    await claim(svc, `${svc}/app.tgz`, '1');
    const older = (await claim(svc, `${svc}/previews/feat.tgz`, '2', 'feat')).release;
    const newer = (await claim(svc, `${svc}/previews/feat.tgz`, '3', 'feat')).release;
    const other = (await claim(svc, `${svc}/previews/other.tgz`, '4', 'other')).release;
    assert.equal((await deploy(newer, `${svc}-p3`, 'https://feat---a')).state, 'deployed');
    const late = await fx.store.leaseDeploy(svc, older.release, 'img@sha256:2', 'late', new Date(), MINUTE);
    assert.equal(late.kind, 'done');
    assert.equal(late.release.state, 'superseded');
    assert.equal(late.release.supersededBy, newer.release);
    // Another preview's name is a line of its own.
    assert.equal((await deploy(other, `${svc}-p4`, 'https://other---a')).state, 'deployed');
    const listed = await fx.store.listPreviews(svc);
    assert.deepEqual(
      listed?.map((p) => [p.name, p.latestRelease, p.release]),
      [
        ['feat', 3, 3],
        ['other', 4, 4],
      ],
    );
  });

  it('a removal takes the deploy lock, covers the releases claimed before it, and ignores an overwritten generation', async () => {
    const svc = `svc-${randomUUID().slice(0, 6)}`;
    await claim(svc, `${svc}/app.tgz`, '1');
    const first = (await claim(svc, `${svc}/previews/pr-7.tgz`, '20', 'pr-7')).release;
    await deploy(first, `${svc}-p2`, 'https://pr-7---a');
    await claim(svc, `${svc}/previews/pr-7.tgz`, '21', 'pr-7');

    // The deleted event of generation 20 comes after generation 21 was uploaded over it: not a removal.
    const overwritten = await fx.store.leasePreviewRemoval(svc, 'pr-7', 'remover', new Date(), MINUTE, '20');
    assert.equal(overwritten.kind, 'kept');

    // While a deploy holds the service's lock, the removal waits.
    const holding = await fx.store.leaseDeploy(svc, 3, 'img@sha256:3', 'deployer', new Date(), MINUTE);
    assert.equal(holding.kind, 'go');
    const busy = await fx.store.leasePreviewRemoval(svc, 'pr-7', 'remover', new Date(), MINUTE, '21');
    assert.deepEqual(busy, {kind: 'busy', holder: 3});
    await fx.store.finishDeploy(svc, 3, {error: {code: 'DEPLOY_FAILED', message: 'test'}}, 'deployer', new Date());

    const go = await fx.store.leasePreviewRemoval(svc, 'pr-7', 'remover', new Date(), MINUTE, '21');
    assert.deepEqual(go, {kind: 'go', through: 3});
    await fx.store.finishPreviewRemoval(svc, 'pr-7', 3, 'remover', 'user:ops@example.com', new Date());
    assert.deepEqual(await fx.store.listPreviews(svc), [], 'a removed preview is not listed');

    // The lock is free again: a main-line release deploys; a removal asked again is done already.
    const again = await fx.store.leasePreviewRemoval(svc, 'pr-7', 'remover-2', new Date(), MINUTE);
    assert.equal(again.kind, 'done');
    assert.equal(again.kind === 'done' && again.removed.actor, 'user:ops@example.com');
    const main = (await claim(svc, `${svc}/app.tgz`, '30')).release;
    assert.equal((await deploy(main, `${svc}-r4`, 'https://a')).state, 'deployed');

    // A new upload of the same name after the removal is a preview again.
    const back = (await claim(svc, `${svc}/previews/pr-7.tgz`, '40', 'pr-7')).release;
    assert.equal((await deploy(back, `${svc}-p5`, 'https://pr-7---a')).state, 'deployed');
    assert.deepEqual(
      (await fx.store.listPreviews(svc))?.map((p) => [p.name, p.release]),
      [['pr-7', 5]],
    );
  });

  it('a removal of an unknown preview is unknown; an unknown service is NOT_FOUND and lists nothing', async () => {
    const svc = `svc-${randomUUID().slice(0, 6)}`;
    await claim(svc, `${svc}/app.tgz`, '1');
    assert.deepEqual(await fx.store.leasePreviewRemoval(svc, 'nope', 'remover', new Date(), MINUTE), {kind: 'unknown'});
    await assert.rejects(fx.store.leasePreviewRemoval(`${svc}-x`, 'nope', 'remover', new Date(), MINUTE), /manages no service/);
    assert.equal(await fx.store.listPreviews(`${svc}-x`), undefined);
  });
});
