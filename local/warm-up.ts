/**
 * Warms the official emulators up before the stack takes its first drop. The Firestore and
 * Pub/Sub emulators are Java processes that start cold: the first transaction, publish and push
 * delivery run interpreted and the JIT compiles them meanwhile, which made the first drop's
 * emulator work about three times that of a later one, on the same cores as its build. Here
 * the same kinds of calls are made once at start, in a project of their own that nothing else
 * reads or saves (the Firestore snapshots export only the stack's project), and removed after:
 * the controller's own release store claims, leases and deploys a release, and the project is
 * exported once, as the state snapshots export; a topic gets an ordered publish, a push
 * delivery and a streaming pull, as the stack's topics do.
 */
import {once} from 'node:events';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {createServer} from 'node:http';
import type {AddressInfo} from 'node:net';
import {Firestore} from '@google-cloud/firestore';
import {PubSub, type Message} from '@google-cloud/pubsub';
import {FirestoreReleaseStore} from '../src/google/firestore-store';
import {pubsubEmulatorOptions} from './gcloud-emulators';

/** The project the warm-up writes to: never the stack's. */
export const WARM_UP_PROJECT = 'dropdeploy-warm-up';

/** How many times each call is made: the first runs cold, the others give the JIT its samples. */
const ROUNDS = 3;

/** The longest the stack waits for the warm-up: a stuck call must not hold the start up. */
const WAIT_MS = 10_000;

/** Warms both emulators up; resolves when done, or after {@link WAIT_MS}. Failures are left to the first drop to meet (and report). */
export async function warmUpEmulators(hosts: {firestore: string; pubsub: string}): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((r) => (timer = setTimeout(r, WAIT_MS).unref()));
  await Promise.race([Promise.all([warmUpFirestore(hosts.firestore), warmUpPubSub(hosts.pubsub)]), waited]);
  clearTimeout(timer);
}

/** A release's path through the controller's store: claim, adopt the build, publish marks, lease and finish the deploy. */
async function warmUpFirestore(host: string): Promise<void> {
  const db = new Firestore({
    projectId: WARM_UP_PROJECT,
    host,
    ssl: false,
    universeDomain: 'googleapis.com',
    ignoreUndefinedProperties: true,
  });
  const store = new FirestoreReleaseStore(db, 'warmup');
  try {
    for (let i = 1; i <= ROUNDS; i++) {
      const now = new Date();
      const service = `warm-up-${i}`;
      const source = {bucket: 'warm-up', object: `${service}/source.tar.gz`, generation: String(i)};
      const {release} = await store.claimSource(service, source, {trigger: 'upload', actor: 'warm-up'}, now, {
        holder: 'warm-up',
        leaseMs: 60_000,
      });
      // The same upload again, as a redelivery finds it.
      await store.claimSource(service, source, {trigger: 'upload', actor: 'warm-up'}, now, {holder: 'warm-up', leaseMs: 60_000});
      await store.adoptBuild(service, release.release, {buildId: `warm-up-${i}`}, now);
      await store.markPublished(service, release.release, ['accepted', 'building']);
      await store.get(service, release.release);
      await store.leaseDeploy(service, release.release, 'warm-up', 'warm-up', now, 60_000);
      await store.listReleases(service, 10);
    }
    await warmUpExport(host);
    await db.recursiveDelete(db.collection('warmup_services'));
    await db.recursiveDelete(db.collection('warmup_sources'));
  } catch {
    // Only a warm-up: the stack works without it.
  } finally {
    await db.terminate();
  }
}

/**
 * One export of the warm-up project to a folder removed after: the emulator's first export
 * loads its classes (about 350 ms of CPU; later ones take 20–30 ms), and the stack's state
 * snapshots are exports, the first of them a moment after the first drop's first status event,
 * in the middle of its build.
 */
async function warmUpExport(host: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dd-warm-up-export-'));
  try {
    const res = await fetch(`http://${host}/emulator/v1/projects/${WARM_UP_PROJECT}:export`, {
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({database: `projects/${WARM_UP_PROJECT}/databases/(default)`, export_directory: dir, export_name: 'warm-up'}),
    });
    await res.text();
  } finally {
    rmSync(dir, {recursive: true, force: true});
  }
}

/** An ordered publish to a topic with a push subscription (Eventarc's) and a streaming-pull one (the status printer's). */
async function warmUpPubSub(host: string): Promise<void> {
  const pubsub = new PubSub(pubsubEmulatorOptions(host, WARM_UP_PROJECT));
  let pushed = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      pushed++;
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  try {
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    const [topic] = await pubsub.createTopic('warm-up');
    await topic.createSubscription('warm-up-push', {pushConfig: {pushEndpoint: `http://127.0.0.1:${port}/`}, ackDeadlineSeconds: 10});
    const [pull] = await topic.createSubscription('warm-up-pull', {enableMessageOrdering: true});
    let pulled = 0;
    pull.on('message', (m: Message) => {
      pulled++;
      m.ack();
    });
    const ordered = pubsub.topic('warm-up', {messageOrdering: true, batching: {maxMessages: 100, maxMilliseconds: 1}});
    for (let i = 0; i < ROUNDS; i++) {
      await ordered.publishMessage({data: Buffer.from(JSON.stringify({i})), attributes: {n: String(i)}, orderingKey: 'warm-up'});
      await topic.publishMessage({data: Buffer.from(JSON.stringify({i})), attributes: {n: String(i)}});
    }
    const deadline = Date.now() + 5000;
    while ((pushed < 2 * ROUNDS || pulled < 2 * ROUNDS) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await pull.close();
    await Promise.all([pull.delete(), pubsub.subscription('warm-up-push').delete()]);
    await topic.delete();
  } catch {
    // Only a warm-up: the stack works without it.
  } finally {
    server.close();
    await pubsub.close();
  }
}
