/**
 * The gRPC fault proxy in front of the official Firestore and Pub/Sub emulators, used through
 * their official client libraries: calls pass through unchanged unless a fault is injected.
 */
import assert from 'node:assert/strict';
import {randomUUID} from 'node:crypto';
import {after, before, describe, it} from 'node:test';
import {Firestore} from '@google-cloud/firestore';
import {PubSub} from '@google-cloud/pubsub';
import {GrpcFaultProxy} from '../../../local/grpc/fault-proxy';
import {grpcCode} from '../../../src/google/grpc-errors';
import {requireEmulators, withEnv} from '../stack';

const PERMISSION_DENIED = 7;
const UNAVAILABLE = 14;
const DEADLINE_EXCEEDED = 4;

describe('gRPC fault proxy', () => {
  let firestoreProxy: GrpcFaultProxy;
  let pubsubProxy: GrpcFaultProxy;
  let db: Firestore;
  let direct: Firestore;
  let pubsub: PubSub;
  const projectId = `dd-proxy-${randomUUID().slice(0, 8)}`;

  before(async () => {
    requireEmulators();
    firestoreProxy = new GrpcFaultProxy(process.env.FIRESTORE_EMULATOR_HOST!);
    pubsubProxy = new GrpcFaultProxy(process.env.PUBSUB_EMULATOR_HOST!);
    const [fh, ph] = await Promise.all([firestoreProxy.start(), pubsubProxy.start()]);
    db = await withEnv({FIRESTORE_EMULATOR_HOST: fh}, () => new Firestore({projectId}));
    direct = new Firestore({projectId});
    pubsub = await withEnv({PUBSUB_EMULATOR_HOST: ph}, () => new PubSub({projectId}));
  });
  after(async () => {
    await Promise.all([db?.terminate(), direct?.terminate(), pubsub?.close()]);
    await Promise.all([firestoreProxy?.stop(), pubsubProxy?.stop()]);
  });

  it('passes calls through: unary, server streaming, and Pub/Sub publish', async () => {
    await db.doc('c/a').set({n: 1});
    const [a, b] = await db.getAll(db.doc('c/a'), db.doc('c/missing'));
    assert.deepEqual([a.get('n'), b.exists], [1, false]);
    assert.equal((await direct.doc('c/a').get()).get('n'), 1, 'the write reached the emulator');
    const [topic] = await pubsub.createTopic('proxied-topic');
    assert.match(await topic.publishMessage({data: Buffer.from('x')}), /^\d+$/);
    assert.ok(firestoreProxy.calls.some((c) => c.method === 'Commit'));
    assert.ok(firestoreProxy.calls.some((c) => c.method === 'BatchGetDocuments'));
    assert.ok(pubsubProxy.calls.some((c) => c.method === 'Publish'));
  });

  it('answers an injected status without reaching the emulator', async () => {
    firestoreProxy.injectFault({method: 'Commit', code: PERMISSION_DENIED, times: 1});
    const err = await db
      .doc('c/b')
      .set({n: 2})
      .catch((e: unknown) => e);
    assert.equal(grpcCode(err), PERMISSION_DENIED);
    assert.equal((await direct.doc('c/b').get()).exists, false);
    assert.equal(firestoreProxy.calls.filter((c) => c.faulted === PERMISSION_DENIED).length, 1);
  });

  it('a fault the client retries (UNAVAILABLE) is retried through the proxy', async () => {
    const [topic] = await pubsub.createTopic('retried-topic');
    pubsubProxy.injectFault({method: 'Publish', code: UNAVAILABLE, times: 2});
    assert.match(await topic.publishMessage({data: Buffer.from('y')}), /^\d+$/);
    assert.equal(pubsubProxy.calls.filter((c) => c.method === 'Publish' && c.faulted === UNAVAILABLE).length, 2);
  });

  it('after forwarding: the emulator did the work, the caller is told it failed', async () => {
    firestoreProxy.injectFault({method: 'Commit', code: DEADLINE_EXCEEDED, afterForwarding: true, times: 1});
    const err = await db
      .runTransaction(
        (t) => {
          t.create(db.doc('c/c'), {n: 3});
          return Promise.resolve();
        },
        {maxAttempts: 1},
      )
      .catch((e: unknown) => e);
    assert.equal(grpcCode(err), DEADLINE_EXCEEDED);
    assert.equal((await direct.doc('c/c').get()).get('n'), 3);
  });

  it('delays a call, then serves it', async () => {
    firestoreProxy.injectFault({method: 'BatchGetDocuments', delayMs: 300, times: 1});
    const t0 = Date.now();
    assert.equal((await db.doc('c/a').get()).get('n'), 1);
    assert.ok(Date.now() - t0 >= 300);
  });
});
