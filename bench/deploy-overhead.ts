/**
 * Build SUCCESS → deploy: the warm event function receives a build's SUCCESS message (as the
 * `cloud-builds` topic pushes it) → the local Cloud Run receives UpdateService, beside the
 * floor: the round trips that step needs made directly with the same client libraries.
 */
import {randomUUID} from 'node:crypto';
import {Firestore} from '@google-cloud/firestore';
import {CloudBuildClient} from '@google-cloud/cloudbuild';
import {ServicesClient} from '@google-cloud/run';
import {buildToJson, type CloudBuildEmulator} from '../local/cloud-build/emulator';
import type {CloudRunEmulator} from '../local/cloud-run/emulator';
import {clientOptions} from '../local/grpc/client-options';
import type {Config} from '../src/config';
import {buildSpec} from '../src/releases/build-request';
import {newRelease} from '../src/releases/release';
import {request} from './cold-start';
import {controller, createBuildAt, sendUpload} from './overhead';
import {percentiles} from './stats';

const now = () => performance.timeOrigin + performance.now();
const SERVICES = 20;

/** The time the Cloud Run emulator received the first UpdateService or CreateService of `service` after `after`. */
function deployCallAt(run: CloudRunEmulator, service: string, after: number): number | undefined {
  const names = [`/services/${service}"`, `"serviceId":"${service}"`];
  return run.calls.find((c) => {
    if (c.at < after || (c.method !== 'UpdateService' && c.method !== 'CreateService')) return false;
    const req = JSON.stringify(c.request);
    return names.some((n) => req.includes(n));
  })?.at;
}

/** The `cloud-builds` push of a build's current state, as Eventarc delivers it to the function. */
async function sendBuildStatus(url: string, build: CloudBuildEmulator, id: string): Promise<{status: number; receivedAt: number}> {
  const json = buildToJson(build.getBuild(id)!);
  const res = await request(url, {
    kind: 'event',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    data: {
      subscription: 'projects/dd-bench/subscriptions/builds',
      message: {attributes: {buildId: id, status: json.status}, data: Buffer.from(JSON.stringify(json)).toString('base64'), messageId: id},
    },
  });
  return {status: res.status, receivedAt: Number(res.headers.get('x-received-at'))};
}

async function until<T>(get: () => T | undefined): Promise<T> {
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * The floor of the deploy step: GetBuild (the status confirmed), a read of the release (is this
 * its build?), one transaction on the release and its service (the deploy lock), GetService (the
 * live service read), UpdateService with the new image — dropdeploy's own calls on that path,
 * made directly.
 */
function floor(
  clients: {db: Firestore; cb: CloudBuildClient; runClient: ServicesClient},
  emulators: {build: CloudBuildEmulator; run: CloudRunEmulator},
  config: Config,
) {
  const {db, cb, runClient} = clients;
  const {build, run} = emulators;
  const root = `f${randomUUID().slice(0, 8)}`;
  const parent = `projects/${config.projectId}/locations/${config.region}`;
  return async (i: number) => {
    const service = `fdep-${i % SERVICES}`;
    const name = `${parent}/services/${service}`;
    const release = newRelease({service, release: i + 1000, trigger: 'upload', actor: 'bench'}, new Date());
    const svcRef = db.collection(`${root}_services`).doc(service);
    const relRef = svcRef.collection('releases').doc(String(release.release).padStart(10, '0'));
    await relRef.set(JSON.parse(JSON.stringify({...release, state: 'building'})) as Record<string, unknown>);
    const source = {bucket: 'dd-sources', object: `${service}/x.zip`, generation: String(i)};
    const [op] = await cb.createBuild({projectId: config.projectId, build: buildSpec(config, release, source) as never});
    const id = (op.metadata as {build?: {id?: string}} | undefined)?.build?.id ?? build.builds().at(-1)!.id;
    await build.setStatus(id, 'SUCCESS');
    const image = `${config.region}-docker.pkg.dev/${config.projectId}/${config.repository}/${service}@sha256:${'0'.repeat(63)}${i % 10}`;

    const t0 = now();
    await cb.getBuild({projectId: config.projectId, id});
    await relRef.get();
    await db.runTransaction(
      async (t) => {
        await t.getAll(relRef, svcRef);
        t.set(relRef, {state: 'deploying', image, deployLease: {holder: randomUUID(), until: Date.now() + 600_000}}, {merge: true});
        t.set(svcRef, {service, lock: {release: release.release, until: Date.now() + 600_000}}, {merge: true});
      },
      {maxAttempts: 1},
    );
    const existing = await runClient.getService({name}).then(
      ([svc]) => svc,
      () => undefined, // NOT_FOUND: the first round creates the service
    );
    const [deploy] = existing
      ? await runClient.updateService({service: {...existing, template: {...existing.template, containers: [{image}]}}})
      : await runClient.createService({parent, serviceId: service, service: {template: {containers: [{image}]}}});
    const at = await until(() => deployCallAt(run, service, t0));
    await deploy.promise();
    return at - t0;
  };
}

/**
 * Sequential builds, each: an upload to the function (its CreateBuild), the build set to
 * SUCCESS in the emulator, then its status message sent and timed from the function receiving
 * it to Cloud Run receiving the deploy; alternating with the floor. The first round per
 * service creates it and is not counted (CreateService), nor are the warm-up rounds.
 */
export async function perDeploy(
  env: Record<string, string>,
  config: Config,
  emulators: {build: CloudBuildEmulator; run: CloudRunEmulator},
  count: number,
) {
  const {build, run} = emulators;
  const fn = await controller(env);
  const clients = {
    db: new Firestore({projectId: config.projectId}),
    cb: new CloudBuildClient(clientOptions(build.port)),
    runClient: new ServicesClient(clientOptions(run.port)),
  };
  const floorOnce = floor(clients, emulators, config);
  const gen = Date.now();
  const oursOnce = async (i: number) => {
    const service = `dep-${i % SERVICES}`;
    const object = `${service}/d${i}.zip`;
    const sent = now();
    const up = await sendUpload(fn.url, object, String(gen + i));
    if (up.status !== 204) throw new Error(`upload answered ${up.status}: ${fn.stderr()}`);
    await until(() => createBuildAt(build, object, sent));
    const id = build.builds().find((b) => JSON.stringify(b.source).includes(`"${object}"`))!.id;
    await build.setStatus(id, 'SUCCESS');
    const t0 = now();
    const {status, receivedAt} = await sendBuildStatus(fn.url, build, id);
    if (status !== 204) throw new Error(`the build status answered ${status}: ${fn.stderr()}`);
    return deployCallAt(run, service, t0)! - receivedAt;
  };
  try {
    for (let i = -(SERVICES + 30); i < 0; i++) {
      await oursOnce(i);
      await floorOnce(i);
    }
    const ours: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < count; i++) {
      ours.push(await oursOnce(i));
      base.push(await floorOnce(i));
    }
    return {dropdeploy: {latency: percentiles(ours)}, floor: {latency: percentiles(base)}};
  } finally {
    fn.child.kill('SIGKILL');
    await Promise.all([clients.db.terminate(), clients.cb.close(), clients.runClient.close()]);
  }
}
