/**
 * Reliability under faults: 200 uploads over 20 services while every API fails 20% of the
 * controller's calls: Cloud Build and Cloud Run (the local emulators), Pub/Sub and Firestore
 * (the official emulators, behind a gRPC fault proxy). Three in four of those faults are
 * UNAVAILABLE before the call does anything; one in four is DEADLINE_EXCEEDED after the call
 * did its work (the answer is lost). Firestore's faults hit its commits that way and its reads
 * with UNAVAILABLE only: a transactional read whose answer is lost, or a lost rollback, leaves
 * the emulator's locks in place until they expire, longer than a test sized to stay fast can
 * wait. Uploads are redelivered the way Eventarc does (until the function answers 2xx), and so
 * are build statuses, pulled from the cloud-builds topic and pushed to the controller. Every
 * upload must end terminal, with exactly one release and one build, and no older release
 * deployed over a newer one.
 */
import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {Firestore} from '@google-cloud/firestore';
import type {Message, Subscription} from '@google-cloud/pubsub';
import {grpc} from 'google-gax';
import type {BuildRunner} from '../../local/cloud-build/emulator';
import {GrpcFaultProxy} from '../../local/grpc/fault-proxy';
import type {FaultSpec} from '../../local/grpc/faults';
import {FirestoreReleaseStore} from '../../src/google/firestore-store';
import {TERMINAL, type Release} from '../../src/releases/release';
import {random, shuffled} from '../harness/seed';
import {Stack} from './stack';

/** 20% of the calls to `method` (all when absent): 15% UNAVAILABLE (nothing done), 5% DEADLINE_EXCEEDED (done, answer lost). */
function faults(api: string, method?: string): FaultSpec[] {
  return [
    {method, code: grpc.status.UNAVAILABLE, probability: 0.15, times: 1e9, random: random(`${api} UNAVAILABLE`)},
    {
      method,
      code: grpc.status.DEADLINE_EXCEEDED,
      probability: 0.05 / 0.85,
      afterForwarding: true,
      times: 1e9,
      random: random(`${api} DEADLINE_EXCEEDED`),
    },
  ];
}

const SERVICES = 20;
const UPLOADS = 200;
const IN_FLIGHT = 20;

/** Builds finish by themselves after a few ms; one in ten fails. */
const buildTimes = random('build times');
const runner: BuildRunner = (build, control) => {
  const t1 = setTimeout(() => control.setStatus('WORKING'), 5 + buildTimes() * 20);
  const fail = String((build as {substitutions?: {_DD_RELEASE?: string}}).substitutions?._DD_RELEASE ?? '').endsWith('7');
  const t2 = setTimeout(
    () => control.setStatus(fail ? 'FAILURE' : 'SUCCESS', fail ? {failureDetail: 'step exited 1'} : {}),
    30 + buildTimes() * 120,
  );
  return () => {
    clearTimeout(t1);
    clearTimeout(t2);
  };
};

async function allReleases(store: FirestoreReleaseStore, service: string): Promise<Release[]> {
  const out: Release[] = [];
  let below: number | undefined;
  for (;;) {
    const page = await store.listReleases(service, 100, below);
    out.push(...page.releases);
    if (page.next === undefined) return out;
    below = page.next;
  }
}

describe('faults: every API fails 20% of its calls', {timeout: 300_000}, () => {
  let stack: Stack;
  let proxies: {firestore: GrpcFaultProxy; pubsub: GrpcFaultProxy};
  let builds: Subscription;
  let db: Firestore;
  /** The store read directly, not through the faults. */
  let store: FirestoreReleaseStore;
  const uploads: Array<{service: string; object: string; generation: string}> = [];
  let deliveries = 0;

  before(async () => {
    proxies = {
      firestore: new GrpcFaultProxy(process.env.FIRESTORE_EMULATOR_HOST!),
      pubsub: new GrpcFaultProxy(process.env.PUBSUB_EMULATOR_HOST!),
    };
    const [firestore, pubsub] = await Promise.all([proxies.firestore.start(), proxies.pubsub.start()]);
    stack = await Stack.start({buildRunner: runner, env: {DROPDEPLOY_WAIT_SECONDS: '10'}, via: {firestore, pubsub}});
    db = new Firestore({projectId: stack.config.projectId});
    store = new FirestoreReleaseStore(db, stack.config.firestore.root);
    for (const [name, api] of Object.entries({build: stack.build, run: stack.run, pubsub: proxies.pubsub}))
      for (const f of faults(name)) api.injectFault(f);
    for (const f of faults('firestore', 'Commit')) proxies.firestore.injectFault(f);
    proxies.firestore.injectFault({
      method: 'BatchGetDocuments',
      code: grpc.status.UNAVAILABLE,
      probability: 0.2,
      times: 1e9,
      random: random('firestore reads'),
    });
    // Eventarc pushes many requests at once; the emulator's push subscription only two, which
    // made this test wait on the emulator rather than the controller. Build statuses are pulled
    // instead and pushed IN_FLIGHT at a time, each nacked (so redelivered) unless answered 2xx.
    builds = stack.pubsub.subscription('controller', {flowControl: {maxMessages: IN_FLIGHT, allowExcessMessages: false}});
    await builds.modifyPushConfig({});
    builds.on('message', (m: Message) => {
      stack.push('cloud-builds', {data: m.data, attributes: m.attributes, messageId: m.id, publishTime: m.publishTime}).then(
        (status) => (status < 300 ? m.ack() : m.nack()),
        () => m.nack(),
      );
    });
    for (let i = 0; i < UPLOADS; i++) {
      const service = `svc-${i % SERVICES}`;
      uploads.push({service, object: `${service}/u${i}.zip`, generation: String(1_000_000 + i)});
    }
    // Shuffled, IN_FLIGHT at a time, each redelivered until acknowledged, like Eventarc.
    const queue = shuffled(uploads, 'upload order');
    await Promise.all(
      Array.from({length: IN_FLIGHT}, async () => {
        for (let u = queue.pop(); u; u = queue.pop()) {
          for (let attempt = 0; ; attempt++) {
            deliveries++;
            if ((await stack.upload(u.object, u.generation)) === 204) break;
            assert.ok(attempt < 50, `upload ${u.object} never acknowledged`);
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }),
    );
    await stack.waitFor(
      'every release terminal',
      async () => {
        for (let s = 0; s < SERVICES; s++) {
          const rs = await allReleases(store, `svc-${s}`);
          if (rs.length < UPLOADS / SERVICES || rs.some((r) => !TERMINAL.has(r.state))) return false;
        }
        return true;
      },
      240_000,
    );
  });
  after(async () => {
    await builds?.close();
    await stack?.stop();
    await db?.terminate();
    await Promise.all([proxies?.firestore.stop(), proxies?.pubsub.stop()]);
  });

  it('faults were really injected into every API and the work was redelivered', () => {
    const firestoreCommits = proxies.firestore.calls.filter((c) => c.method === 'Commit');
    for (const [api, calls] of Object.entries({
      cloudBuild: stack.build.calls,
      cloudRun: stack.run.calls,
      firestoreCommits,
      pubsub: proxies.pubsub.calls,
    })) {
      const count = (code: number) => calls.filter((c) => c.faulted === code).length;
      assert.ok(
        count(grpc.status.UNAVAILABLE) > calls.length * 0.08,
        `${api}: ${count(grpc.status.UNAVAILABLE)} of ${calls.length} calls UNAVAILABLE`,
      );
      assert.ok(
        count(grpc.status.DEADLINE_EXCEEDED) > 0,
        `${api}: no call answered DEADLINE_EXCEEDED after doing its work (${calls.length} calls)`,
      );
    }
    const reads = proxies.firestore.calls.filter((c) => c.method === 'BatchGetDocuments');
    const faultedReads = reads.filter((c) => c.faulted === grpc.status.UNAVAILABLE).length;
    assert.ok(faultedReads > reads.length * 0.1, `Firestore reads: ${faultedReads} of ${reads.length} UNAVAILABLE`);
    assert.ok(deliveries > UPLOADS, `some uploads needed redelivery (${deliveries} deliveries for ${UPLOADS} uploads)`);
    assert.ok(
      stack.logs.some((l) => l.includes('will be redelivered')),
      'handlers failed and asked for redelivery',
    );
  });

  it('exactly one release per upload, each ending terminal with a reason when it failed', async () => {
    for (let s = 0; s < SERVICES; s++) {
      const service = `svc-${s}`;
      const rs = await allReleases(store, service);
      const mine = uploads.filter((u) => u.service === service);
      assert.equal(rs.length, mine.length, `${service}: one release per upload`);
      assert.deepEqual(rs.map((r) => r.source!.generation).sort(), mine.map((u) => u.generation).sort());
      for (const r of rs) {
        assert.ok(TERMINAL.has(r.state), `${service} v${r.release} is ${r.state}`);
        if (r.state === 'build_failed' || r.state === 'deploy_failed')
          assert.ok(r.error?.message, `${service} v${r.release} failed without a reason`);
        assert.notEqual(
          r.state,
          'deploy_failed',
          `${service} v${r.release}: a transient fault must not fail a deploy: ${r.error?.message}`,
        );
      }
    }
  });

  it('exactly one build per upload', () => {
    assert.equal(stack.build.builds().length, UPLOADS);
  });

  it('no older release was deployed over a newer one; each service runs its newest deployed release', async () => {
    for (let s = 0; s < SERVICES; s++) {
      const service = `svc-${s}`;
      // Cloud Run's revisions, oldest first, by the release each one deploys. (Status events
      // are not the record of this: a release's `deployed` event whose publish failed goes out
      // with the redelivery, possibly after a newer release's.)
      const order = stack.run
        .revisions(service)
        .reverse()
        .map((r) => Number(String((r.labels as Record<string, string>)['dropdeploy-release']).slice(1)));
      assert.ok(
        order.every((n) => Number.isInteger(n) && n > 0),
        `${service}: every revision names its release (${order.join(', ')})`,
      );
      assert.deepEqual(
        order,
        [...order].sort((a, b) => a - b),
        `${service} rolled out in order ${order.join(', ')}`,
      );
      const rs = await allReleases(store, service);
      const newest = rs.filter((r) => r.state === 'deployed').sort((a, b) => b.release - a.release)[0];
      const svc = stack.run.getService(service) as {template: {containers: Array<{image: string}>}} | undefined;
      if (newest) assert.equal(svc?.template.containers[0].image, newest.image, `${service} runs v${newest.release}`);
      for (const r of rs.filter((x) => x.state === 'superseded')) assert.ok(r.supersededBy! > r.release);
    }
  });
});
