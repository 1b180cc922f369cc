/**
 * Per-event overhead and burst throughput of the warm event function, against the emulators:
 * event sent → CreateBuild received by the local Cloud Build, beside the same API calls made
 * directly with the same client libraries (the floor).
 */
import {randomUUID} from 'node:crypto';
import {Firestore} from '@google-cloud/firestore';
import {CloudBuildClient} from '@google-cloud/cloudbuild';
import type {CloudBuildEmulator} from '../local/cloud-build/emulator';
import {clientOptions} from '../local/grpc/client-options';
import {cpuMs, send, SOURCES, spawnFunction} from './cold-start';
import {percentiles, pool} from './stats';

const now = () => performance.timeOrigin + performance.now();

function upload(object: string, generation: string): {kind: 'event'; type: string; data: unknown} {
  return {kind: 'event', type: 'google.cloud.storage.object.v1.finalized', data: {bucket: 'dd-sources', name: object, generation, size: '10', md5Hash: 'x'}};
}

/** The time the emulator received the CreateBuild for `object`. */
function createBuildAt(build: CloudBuildEmulator, object: string, after: number): number | undefined {
  for (let i = build.calls.length - 1; i >= 0; i--) {
    const c = build.calls[i];
    if (c.at < after) return undefined;
    if (c.method === 'CreateBuild' && JSON.stringify(c.request).includes(`"${object}"`)) return c.at;
  }
  return undefined;
}

/** Starts the controller's event function (the production entry point) with a fresh store root. */
async function controller(env: Record<string, string>, root = `b${randomUUID().slice(0, 8)}`) {
  const fn = await spawnFunction({source: SOURCES.dropdeploy, target: 'dropdeployEvents', signature: 'cloudevent', env: {...env, DROPDEPLOY_FIRESTORE_ROOT: root}});
  while (await send(fn.url, {kind: 'get', path: '/'}) === undefined) await new Promise((r) => setTimeout(r, 10));
  return fn;
}

/**
 * Sequential uploads, each timed from sending the event to the emulator receiving CreateBuild,
 * alternating with the floor: the same round trips made directly with the same client
 * libraries (claim, numbering transaction, CreateBuild). Alternating keeps both on an equally
 * warm emulator.
 */
export async function perEvent(env: Record<string, string>, build: CloudBuildEmulator, count: number) {
  const fn = await controller(env);
  const db = new Firestore({projectId: env.DROPDEPLOY_PROJECT});
  const cb = new CloudBuildClient(clientOptions(build.port));
  const root = `f${randomUUID().slice(0, 8)}`;
  const floorOnce = async (i: number) => {
    const service = `svc-${i % 20}`;
    const object = `${service}/f${i}.zip`;
    const t0 = now();
    await db.collection(`${root}_sources`).doc(encodeURIComponent(object)).create({service});
    const svc = db.collection(`${root}_services`).doc(service);
    await db.runTransaction(async (t) => {
      const s = await t.get(svc);
      const n = (s.data()?.last ?? 0) + 1;
      t.set(svc, {last: n}, {merge: true});
      t.create(svc.collection('releases').doc(String(n)), {state: 'accepted'});
    });
    await cb.createBuild({projectId: env.DROPDEPLOY_PROJECT, build: {source: {storageSource: {bucket: 'dd-sources', object, generation: '1'}}, steps: [{name: 'x'}]}});
    return createBuildAt(build, object, t0)! - t0;
  };
  const oursOnce = async (i: number, gen: number) => {
    const object = `svc-${i % 20}/e${i}.zip`;
    const t0 = now();
    const status = await send(fn.url, upload(object, String(gen + i)));
    if (status !== 204) throw new Error(`upload answered ${status}: ${fn.stderr()}`);
    return createBuildAt(build, object, t0)! - t0;
  };
  try {
    const gen = Date.now();
    for (let i = -50; i < 0; i++) {
      await oursOnce(i, gen);
      await floorOnce(i);
    }
    const ours: number[] = [];
    const base: number[] = [];
    let cpu = 0;
    for (let i = 0; i < count; i++) {
      const c0 = cpuMs(fn.child.pid!);
      ours.push(await oursOnce(i, gen));
      cpu += cpuMs(fn.child.pid!) - c0;
      base.push(await floorOnce(i));
    }
    return {dropdeploy: {latency: percentiles(ours), cpuMsPerEvent: Math.round((cpu / count) * 100) / 100}, floor: {latency: percentiles(base)}};
  } finally {
    fn.child.kill('SIGKILL');
    await db.terminate();
    await cb.close();
  }
}

/** 1000 uploads over 50 services, 30% duplicates, shuffled, 50 in flight. */
export async function burst(env: Record<string, string>, build: CloudBuildEmulator) {
  const root = `burst${randomUUID().slice(0, 8)}`;
  const fn = await controller(env, root);
  try {
    const gen = Date.now();
    const distinct = Array.from({length: 700}, (_, i) => ({object: `burst-${i % 50}/b${i}.zip`, generation: String(gen + i)}));
    const deliveries = [...distinct, ...Array.from({length: 300}, (_, i) => distinct[(i * 7) % distinct.length])].sort(() => Math.random() - 0.5);
    const before = build.callsTo('CreateBuild').length;
    const cpu0 = cpuMs(fn.child.pid!);
    const t0 = now();
    let retries = 0;
    await pool(deliveries, 50, async (d) => {
      for (;;) {
        if (await send(fn.url, upload(d.object, d.generation)) === 204) return;
        retries++;
      }
    });
    const seconds = (now() - t0) / 1000;
    const cpuShare = (cpuMs(fn.child.pid!) - cpu0) / 1000 / seconds;
    const db = new Firestore({projectId: env.DROPDEPLOY_PROJECT});
    const services = await db.collection(`${root}_services`).get();
    const releases = services.docs.reduce((n, d) => n + Number(d.get('lastRelease') ?? 0), 0);
    await db.terminate();
    return {
      releases,
      deliveries: deliveries.length, distinctUploads: distinct.length, seconds: Math.round(seconds * 10) / 10,
      eventsPerSecond: Math.round(deliveries.length / seconds), redeliveries: retries,
      createBuildCalls: build.callsTo('CreateBuild').length - before,
      controllerCpuShare: Math.round(cpuShare * 100) / 100,
    };
  } finally {
    fn.child.kill('SIGKILL');
  }
}
