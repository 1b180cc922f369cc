/**
 * Per-event overhead and burst throughput of the warm event function, against the emulators:
 * event received → CreateBuild received by the local Cloud Build, beside the same API calls
 * made directly with the same client libraries (the floor).
 */
import {randomUUID} from 'node:crypto';
import {join} from 'node:path';
import {Firestore} from '@google-cloud/firestore';
import {CloudBuildClient} from '@google-cloud/cloudbuild';
import type {CloudBuildEmulator} from '../local/cloud-build/emulator';
import {clientOptions} from '../local/grpc/client-options';
import type {Config} from '../src/config';
import {buildSpec} from '../src/releases/build-request';
import {sourceKey} from '../src/releases/naming';
import {newRelease, type Source} from '../src/releases/release';
import {cpuMs, groupCpuMs, request, ROOT, send, SOURCES, spawnFunction} from './cold-start';
import {percentiles, pool} from './stats';

const now = () => performance.timeOrigin + performance.now();
const RECEIVE_CLOCK = join(ROOT, 'bench', 'fixtures', 'receive-clock.js');

/** Sends one upload event; the status and the time the function process received it. */
export async function sendUpload(url: string, object: string, generation: string): Promise<{status: number; receivedAt: number}> {
  const res = await request(url, {
    kind: 'event',
    type: 'google.cloud.storage.object.v1.finalized',
    data: {bucket: 'dd-sources', name: object, generation, size: '10', md5Hash: 'x'},
  });
  return {status: res.status, receivedAt: Number(res.headers.get('x-received-at'))};
}

/** The time the emulator received the CreateBuild for `object`. */
export function createBuildAt(build: CloudBuildEmulator, object: string, after: number): number | undefined {
  for (let i = build.calls.length - 1; i >= 0; i--) {
    const c = build.calls[i];
    if (c.at < after) return undefined;
    if (c.method === 'CreateBuild' && JSON.stringify(c.request).includes(`"${object}"`)) return c.at;
  }
  return undefined;
}

/** The event functions a burst can load: dropdeploy's (the production entry point), or the floor's. */
const EVENT_FUNCTIONS = {
  dropdeploy: {source: SOURCES.dropdeploy, target: 'dropdeployEvents'},
  floor: {source: SOURCES.floorEvents, target: 'floorEvents'},
};

/** Starts an event function with a fresh store root. */
export async function controller(
  env: Record<string, string>,
  root = `b${randomUUID().slice(0, 8)}`,
  variant: keyof typeof EVENT_FUNCTIONS = 'dropdeploy',
) {
  const fn = await spawnFunction({
    ...EVENT_FUNCTIONS[variant],
    signature: 'cloudevent',
    env: {
      ...env,
      DROPDEPLOY_FIRESTORE_ROOT: root,
      NODE_OPTIONS: `--require ${RECEIVE_CLOCK}`,
    },
  });
  while ((await send(fn.url, {kind: 'get', path: '/'})) === undefined) await new Promise((r) => setTimeout(r, 10));
  return fn;
}

/** Drops undefined fields, as the store does before writing. */
const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/**
 * The floor: the round trips the controller makes from an upload to CreateBuild, with the same
 * requests, made directly with the same client libraries — one transaction (a batched read of
 * the source's claim and the service, then a commit writing the release, the service's
 * counter and the claim) and CreateBuild with the release's build.
 */
function floor(db: Firestore, cb: CloudBuildClient, config: Config) {
  const root = `f${randomUUID().slice(0, 8)}`;
  return async (object: string, generation: string) => {
    const service = object.slice(0, object.indexOf('/'));
    const source: Source = {bucket: 'dd-sources', object, generation, size: '10', md5Hash: 'x'};
    const t0 = now();
    const svcRef = db.collection(`${root}_services`).doc(service);
    const srcRef = db.collection(`${root}_sources`).doc(sourceKey(source.bucket, object, generation));
    const release = await db.runTransaction(
      async (t) => {
        const [, svc] = await t.getAll(srcRef, svcRef);
        const n = Number(svc.get('lastRelease') ?? 0) + 1;
        const r = newRelease(
          {service, release: n, trigger: 'upload', actor: `gs://dd-sources/${object}#${generation} (Eventarc)`, source},
          new Date(),
        );
        t.create(
          svcRef.collection('releases').doc(String(n).padStart(10, '0')),
          plain({...r, buildLease: {holder: randomUUID(), until: Date.now() + 600_000}, buildAttempts: 1}),
        );
        t.set(svcRef, {service, lastRelease: n}, {merge: true});
        t.set(srcRef, {...source, service, claimTime: new Date().toISOString(), release: n});
        return r;
      },
      {maxAttempts: 1},
    );
    await cb.createBuild({projectId: config.projectId, build: buildSpec(config, release, source) as never});
    return t0;
  };
}

/**
 * Sequential uploads, each timed from the function receiving the event (and, for reference,
 * from sending it) to the emulator receiving CreateBuild, alternating with the floor so both
 * run against an equally warm emulator.
 */
export async function perEvent(env: Record<string, string>, config: Config, build: CloudBuildEmulator, count: number) {
  const fn = await controller(env);
  const db = new Firestore({projectId: config.projectId});
  const cb = new CloudBuildClient(clientOptions(build.port));
  const floorOnce = floor(db, cb, config);
  const gen = Date.now();
  const oursOnce = async (i: number) => {
    const object = `svc-${i % 20}/e${i}.zip`;
    const sent = now();
    const {status, receivedAt} = await sendUpload(fn.url, object, String(gen + i));
    if (status !== 204) throw new Error(`upload answered ${status}: ${fn.stderr()}`);
    const at = createBuildAt(build, object, sent)!;
    return {fromReceived: at - receivedAt, fromSent: at - sent};
  };
  const baseOnce = async (i: number) => {
    const object = `svc-${i % 20}/f${i}.zip`;
    const t0 = await floorOnce(object, String(gen + i));
    return createBuildAt(build, object, t0)! - t0;
  };
  try {
    for (let i = -50; i < 0; i++) {
      await oursOnce(i);
      await baseOnce(i);
    }
    const received: number[] = [];
    const sent: number[] = [];
    const base: number[] = [];
    let cpu = 0;
    for (let i = 0; i < count; i++) {
      const c0 = cpuMs(fn.child.pid!);
      const o = await oursOnce(i);
      cpu += cpuMs(fn.child.pid!) - c0;
      received.push(o.fromReceived);
      sent.push(o.fromSent);
      base.push(await baseOnce(i));
    }
    return {
      dropdeploy: {latency: percentiles(received), fromSent: percentiles(sent), cpuMsPerEvent: Math.round((cpu / count) * 100) / 100},
      floor: {latency: percentiles(base)},
    };
  } finally {
    fn.child.kill('SIGKILL');
    await db.terminate();
    await cb.close();
  }
}

/**
 * 1000 uploads over 50 services, 30% duplicates, shuffled, 50 in flight, spread over
 * `instances` processes of the event function (Cloud Run scales out the same way); with the
 * CPU share of those processes, each emulator and this process (the load, and the in-process
 * Cloud Build). `variant` 'floor' sends the same burst to the floor's function.
 */
export async function burst(
  env: Record<string, string>,
  build: CloudBuildEmulator,
  emulators: {firestore: number; pubsub: number},
  instances = 1,
  variant: keyof typeof EVENT_FUNCTIONS = 'dropdeploy',
) {
  const root = `burst${randomUUID().slice(0, 8)}`;
  const fns = await Promise.all(Array.from({length: instances}, () => controller(env, root, variant)));
  try {
    const gen = Date.now();
    const distinct = Array.from({length: 700}, (_, i) => ({object: `burst-${i % 50}/b${i}.zip`, generation: String(gen + i)}));
    const deliveries = [...distinct, ...Array.from({length: 300}, (_, i) => distinct[(i * 7) % distinct.length])]
      .sort(() => Math.random() - 0.5)
      .map((d, i) => ({...d, url: fns[i % instances].url}));
    const before = build.callsTo('CreateBuild').length;
    const cpu = () => ({
      controllers: fns.reduce((ms, fn) => ms + cpuMs(fn.child.pid!), 0),
      firestore: groupCpuMs(emulators.firestore),
      pubsub: groupCpuMs(emulators.pubsub),
      bench: process.cpuUsage(),
    });
    const cpu0 = cpu();
    const t0 = now();
    let retries = 0;
    await pool(deliveries, 50, async (d) => {
      for (;;) {
        if ((await sendUpload(d.url, d.object, d.generation)).status === 204) return;
        retries++;
      }
    });
    const seconds = (now() - t0) / 1000;
    const cpu1 = cpu();
    const share = (ms: number) => Math.round((ms / 1000 / seconds) * 100) / 100;
    const benchMs = (cpu1.bench.user + cpu1.bench.system - cpu0.bench.user - cpu0.bench.system) / 1000;
    const db = new Firestore({projectId: env.DROPDEPLOY_PROJECT});
    const services = await db.collection(`${root}_services`).get();
    const releases = services.docs.reduce((n, d) => n + Number(d.get('lastRelease') ?? 0), 0);
    await db.terminate();
    return {
      variant,
      instances,
      releases,
      deliveries: deliveries.length,
      distinctUploads: distinct.length,
      seconds: Math.round(seconds * 10) / 10,
      eventsPerSecond: Math.round(deliveries.length / seconds),
      redeliveries: retries,
      createBuildCalls: build.callsTo('CreateBuild').length - before,
      cpuShare: {
        controllers: share(cpu1.controllers - cpu0.controllers),
        firestoreEmulator: share(cpu1.firestore - cpu0.firestore),
        pubsubEmulator: share(cpu1.pubsub - cpu0.pubsub),
        benchAndCloudBuildEmulator: share(benchMs),
      },
    };
  } finally {
    for (const fn of fns) fn.child.kill('SIGKILL');
  }
}
