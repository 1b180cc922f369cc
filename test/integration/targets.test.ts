/**
 * A service in two regions through `npm start`'s own code (LocalStack): one local Cloud Run
 * emulates both (the region is in every resource name). One upload builds once and the same
 * digest answers in both regions; a failure scripted for one region's UpdateService ends the
 * release `deploy_failed` naming that region, while the other keeps the new digest — or, with
 * `onTargetFailure: rollback`, goes back; a redelivered deploy does not deploy again to the
 * region it finished; a rollback and an environment change deploy to both; in parallel order a
 * failed primary does not hold the other region back; a preview goes to the primary only.
 */
import assert from 'node:assert/strict';
import {cpSync, mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import type {Message} from '@google-cloud/pubsub';
import {ServicesClient} from '@google-cloud/run';
import {dropFile} from '../../local/bucket/watcher';
import {packFolder} from '../../local/drop';
import {REPO_ROOT} from '../../local/repo-root';
import {LocalStack} from '../../local/stack';
import type {TargetRecord} from '../../src/releases/targets';
import {validateEventData} from '../event-schema';
import {parseJson} from '../json';
import {announcedState, localServicesClient} from './local-stack-clients';
import {requireEmulators} from './stack';

interface Seen {
  state: string;
  data: {
    service?: string;
    release?: number;
    url?: string;
    revision?: string;
    image?: string;
    targets?: TargetRecord[];
    error?: {code: string; message: string};
  };
}

const APP = join(REPO_ROOT, 'test', 'fixtures', 'rollout-app');
const SERVICE = 'web';
const EU = 'europe-west1';
const TERMINAL = /^(deployed|rolled_back|superseded|deploy_failed|build_failed|rejected)$/;
const FAILED_PRECONDITION = 9;
const UNAVAILABLE = 14;

describe('a service in two regions through the local stack', {timeout: 300_000}, () => {
  let stack: LocalStack;
  let services: ServicesClient;
  const seen: Seen[] = [];
  const logs: string[] = [];
  const root = mkdtempSync(join(tmpdir(), 'dd-targets-'));
  const urls = {us: '', eu: ''};

  const drop = (object: string, version: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'dd-targets-app-'));
    cpSync(APP, dir, {recursive: true});
    writeFileSync(join(dir, 'behaviour.json'), JSON.stringify({version, health: 200, errors: false}));
    dropFile(stack.info.bucketDir, object, packFolder(dir));
  };
  const ended = async (release: number, timeoutMs = 90_000): Promise<Seen> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = seen.find((e) => e.data.service === SERVICE && e.data.release === release && TERMINAL.test(e.state));
      if (hit) return hit;
      if (Date.now() > until)
        assert.fail(
          `v${release} did not end; seen: ${seen.map((e) => `${e.data.release}:${e.state}`).join(' ')}\n${logs.slice(-40).join('\n')}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const body = async (url: string) => (await fetch(url)).text();
  const api = async (method: string, path: string, payload?: unknown) => {
    const r = await fetch(`${stack.info.apiUrl}${path}`, {
      method,
      ...(payload === undefined ? {} : {headers: {'content-type': 'application/json'}, body: JSON.stringify(payload)}),
    });
    return {status: r.status, body: (await r.json()) as Record<string, unknown> & {error?: {message: string}}};
  };
  const name = (region: string) => `projects/${stack.info.projectId}/locations/${region}/services/${SERVICE}`;
  const updatesIn = (region: string) =>
    stack.cloudRun.callsTo('UpdateService').filter((c) => (c.request as {service?: {name?: string}}).service?.name === name(region)).length;
  const states = (e: Seen) => e.data.targets?.map((t) => `${t.region}:${t.state}`);
  /** The service's deployed release as `GET /v1/services` has it: what env changes and status start from. */
  const deployed = async () => {
    const list = (await api('GET', '/v1/services')).body as unknown as {
      services: Array<{service: string; deployed?: {release: number; image?: string; revision?: string}}>;
    };
    return list.services.find((s) => s.service === SERVICE)?.deployed;
  };

  before(async () => {
    requireEmulators();
    stack = await LocalStack.start({
      root,
      startupTimeoutMs: 10_000,
      onLog: (l) => logs.push(l),
      reconcileSeconds: 0,
      onStatus: (m: Message) => seen.push({state: announcedState(m), data: parseJson<Seen['data']>(m.data)}),
    });
    services = localServicesClient(stack.info);
  });
  after(async () => {
    await services?.close();
    await stack?.stop();
  });

  it('refuses targets the deploy could not carry out, saying why', async () => {
    const away = await api('PATCH', `/v1/services/${SERVICE}/policy`, {targets: [{region: EU}, {region: stack.info.region}]});
    assert.equal(away.status, 400);
    assert.match(away.body.error!.message, /targets\[0\] is europe-west1 .* must be the controller's own region and project/);
    const canary = await api('PATCH', `/v1/services/${SERVICE}/policy`, {
      strategy: 'canary',
      targets: [{region: stack.info.region}, {region: EU}],
    });
    assert.equal(canary.status, 400);
    assert.match(canary.body.error!.message, /a canary rollout over several targets is not supported/);
    const zone = await api('PATCH', `/v1/services/${SERVICE}/policy`, {targets: [{region: 'europe-west1-b'}]});
    assert.equal(zone.status, 400);
    assert.match(zone.body.error!.message, /targets\[0\]\.region: must be a Cloud Run region/);
  });

  it('one upload: one build, the same digest answering in both regions', async () => {
    const set = await api('PATCH', `/v1/services/${SERVICE}/policy`, {targets: [{region: stack.info.region}, {region: EU}]});
    assert.equal(set.status, 200, JSON.stringify(set.body));
    drop(`${SERVICE}/v1.tgz`, 'v1');
    const v1 = await ended(1);
    assert.equal(v1.state, 'deployed', JSON.stringify(v1.data));
    const [us, eu] = v1.data.targets!;
    assert.deepEqual(
      [us.region, us.project, us.state, eu.region, eu.project, eu.state],
      [stack.info.region, stack.info.projectId, 'deployed', EU, stack.info.projectId, 'deployed'],
    );
    assert.equal(v1.data.url, us.url, 'the top-level URL is the primary target’s');
    assert.equal(v1.data.revision, us.revision);
    assert.notEqual(us.url, eu.url);
    urls.us = us.url!;
    urls.eu = eu.url!;
    assert.match(await body(urls.us), /^v1 /);
    assert.match(await body(urls.eu), /^v1 /);
    const images = await Promise.all([stack.info.region, EU].map(async (r) => (await services.getService({name: name(r)}))[0]));
    assert.deepEqual(
      images.map((s) => s.template!.containers![0].image),
      [v1.data.image, v1.data.image],
      'the same digest in both',
    );
    assert.equal(stack.cloudRun.callsTo('CreateService').length, 2);
  });

  it('a redelivered deploy goes on with the region left, not the one it finished', async () => {
    const [usBefore, euBefore] = [updatesIn(stack.info.region), updatesIn(EU)];
    // The handler fails after the primary region is done; Eventarc delivers the build status again.
    stack.cloudRun.injectFault({method: 'UpdateService', resource: `locations/${EU}/`, code: UNAVAILABLE, message: 'europe-west1 is busy'});
    drop(`${SERVICE}/v2.tgz`, 'v2');
    const v2 = await ended(2);
    assert.equal(v2.state, 'deployed', JSON.stringify(v2.data));
    assert.deepEqual(states(v2), [`${stack.info.region}:deployed`, `${EU}:deployed`]);
    assert.equal(updatesIn(stack.info.region) - usBefore, 1, 'the primary region was updated once');
    assert.equal(updatesIn(EU) - euBefore, 2, 'the refused update, then the redelivery’s');
    assert.ok(
      logs.some((l) => l.includes('resuming its deploy')),
      'the redelivery resumed from the record',
    );
    assert.match(await body(urls.us), /^v2 /);
    assert.match(await body(urls.eu), /^v2 /);
    // The primary deployed in the first delivery: its env record survives the redelivery (a rollback to v2 restores it).
    const [r1, r2] = await Promise.all([1, 2].map(async (n) => (await api('GET', `/v1/services/${SERVICE}/releases/${n}`)).body));
    assert.ok(Array.isArray(r1.deployedEnv), `v1 records its env: ${JSON.stringify(r1)}`);
    assert.deepEqual(r2.deployedEnv, r1.deployedEnv, 'v2 records the env the primary deployed');
  });

  it('a failure in one region: deploy_failed naming it; the other keeps the new digest', async () => {
    stack.cloudRun.injectFault({
      method: 'UpdateService',
      resource: `locations/${EU}/`,
      code: FAILED_PRECONDITION,
      message: 'quota exceeded in europe-west1',
    });
    drop(`${SERVICE}/v3.tgz`, 'v3');
    const v3 = await ended(3);
    assert.equal(v3.state, 'deploy_failed');
    assert.equal(v3.data.error?.code, 'FAILED_PRECONDITION');
    assert.match(
      v3.data.error.message,
      /^the deploy to europe-west1 \(project dropdeploy-local\) failed: .*quota exceeded in europe-west1/,
    );
    assert.match(v3.data.error.message, /us-central1 \(project dropdeploy-local\) keeps serving the new digest/);
    assert.deepEqual(states(v3), [`${stack.info.region}:deployed`, `${EU}:failed`]);
    assert.match(await body(urls.us), /^v3 /);
    assert.match(await body(urls.eu), /^v2 /, 'the failed region serves what it served');
    // The primary serves v3: the service is deployed at v3 (an env change deploys v3's digest, not v2's).
    const d = await deployed();
    assert.deepEqual(
      [d?.release, d?.image, d?.revision],
      [3, v3.data.image, v3.data.targets![0].revision],
      'the deployed release is what the primary serves',
    );
    const rec = await api('GET', `/v1/services/${SERVICE}/releases/3`);
    assert.equal(rec.body.state, 'deploy_failed', 'the release itself keeps its failure');
  });

  it('with onTargetFailure rollback, the region already updated goes back', async () => {
    const set = await api('PATCH', `/v1/services/${SERVICE}/policy?updateMask=onTargetFailure`, {onTargetFailure: 'rollback'});
    assert.equal(set.status, 200, JSON.stringify(set.body));
    stack.cloudRun.injectFault({
      method: 'UpdateService',
      resource: `locations/${EU}/`,
      code: FAILED_PRECONDITION,
      message: 'quota exceeded in europe-west1',
    });
    drop(`${SERVICE}/v4.tgz`, 'v4');
    const v4 = await ended(4);
    assert.equal(v4.state, 'deploy_failed');
    assert.deepEqual(states(v4), [`${stack.info.region}:rolled_back`, `${EU}:failed`]);
    assert.match(
      v4.data.error!.message,
      /^the deploy to europe-west1 .*; us-central1 \(project dropdeploy-local\) went back to the revision that served before/,
    );
    assert.match(await body(urls.us), /^v3 /, 'the primary region serves the revision from before v4 again');
    assert.match(await body(urls.eu), /^v2 /);
    assert.equal((await deployed())?.release, 3, 'rolled back in the primary: the service stays deployed at v3');
  });

  it('a rollback deploys the old digest to both regions', async () => {
    const r = await api('POST', `/v1/services/${SERVICE}:rollback`, {release: 1});
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const v5 = await ended(5);
    assert.equal(v5.state, 'deployed', JSON.stringify(v5.data));
    assert.deepEqual(states(v5), [`${stack.info.region}:deployed`, `${EU}:deployed`]);
    assert.match(await body(urls.us), /^v1 /);
    assert.match(await body(urls.eu), /^v1 /);
  });

  it('in parallel order, a failure of the primary does not hold the other region back', async () => {
    const set = await api('PATCH', `/v1/services/${SERVICE}/policy`, {targetOrder: 'parallel', onTargetFailure: 'keep'});
    assert.equal(set.status, 200, JSON.stringify(set.body));
    stack.cloudRun.injectFault({
      method: 'UpdateService',
      resource: `locations/${stack.info.region}/`,
      code: FAILED_PRECONDITION,
      message: 'quota exceeded in us-central1',
    });
    drop(`${SERVICE}/v6.tgz`, 'v6');
    const v6 = await ended(6);
    assert.equal(v6.state, 'deploy_failed');
    assert.deepEqual(states(v6), [`${stack.info.region}:failed`, `${EU}:deployed`]);
    assert.match(
      v6.data.error!.message,
      /^the deploy to us-central1 .*quota exceeded in us-central1; europe-west1 \(project dropdeploy-local\) keeps serving/,
    );
    assert.match(await body(urls.us), /^v1 /);
    assert.match(await body(urls.eu), /^v6 /);
    assert.equal((await deployed())?.release, 5, 'the primary failed: the service stays deployed at what it serves (v5)');
  });

  it('an environment change is a config release in both regions', async () => {
    const r = await api('PATCH', `/v1/services/${SERVICE}/env`, {set: {GREETING: 'hi'}});
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const v7 = await ended(7);
    assert.equal(v7.state, 'deployed', JSON.stringify(v7.data));
    assert.deepEqual(states(v7), [`${stack.info.region}:deployed`, `${EU}:deployed`]);
    for (const region of [stack.info.region, EU]) {
      const [svc] = await services.getService({name: name(region)});
      const env = (svc.template!.containers![0].env ?? []).map((e) => `${e.name}=${e.value ?? ''}`);
      assert.ok(env.includes('GREETING=hi'), `${region}: ${env.join(' ')}`);
      assert.equal(svc.template!.containers![0].image, v7.data.image, `${region} runs the deployed release's digest`);
    }
    assert.match(await body(urls.us), /^v1 /, 'the image of the deployed release (the rollback to v1), with the new env');
    // Deliberately: europe-west1 ran v6 (whose primary failed), and the env change puts what the
    // primary serves, the deployed release's digest, in every region.
    assert.match(await body(urls.eu), /^v1 /, 'every region gets the primary’s code with the new env');
  });

  it('a preview deploys to the primary region only', async () => {
    drop(`${SERVICE}/previews/pr-3.tgz`, 'pr3');
    const v8 = await ended(8);
    assert.equal(v8.state, 'deployed', JSON.stringify(v8.data));
    assert.equal(v8.data.targets, undefined);
    const [us] = await services.getService({name: name(stack.info.region)});
    const [eu] = await services.getService({name: name(EU)});
    assert.ok((us.traffic ?? []).some((t) => t.tag === 'pr-3'));
    assert.ok(!(eu.traffic ?? []).some((t) => t.tag === 'pr-3'), 'no preview in the other region');
    assert.match(await body(urls.eu), /^v1 /);
  });

  it("a service in another target is not adopted by the primary's recorded release", async () => {
    // Unlabelled by any installation, its release label naming the primary's deployed release: in
    // the primary that would prove it ours (made before the installation label); here it proves nothing.
    const asia = 'asia-east1';
    const d = await deployed();
    const [op] = await services.createService({
      parent: `projects/${stack.info.projectId}/locations/${asia}`,
      serviceId: SERVICE,
      service: {labels: {'managed-by': 'dropdeploy', 'dropdeploy-release': `v${d!.release}`}, template: {containers: [{image: d!.image}]}},
    });
    await op.promise();
    const set = await api('PATCH', `/v1/services/${SERVICE}/policy`, {
      targets: [{region: stack.info.region}, {region: EU}, {region: asia}],
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const r = await api('PATCH', `/v1/services/${SERVICE}/env`, {set: {GREETING: 'hey'}});
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const v9 = await ended(9);
    assert.equal(v9.state, 'deploy_failed', JSON.stringify(v9.data));
    assert.deepEqual(states(v9), [`${stack.info.region}:deployed`, `${EU}:deployed`, `${asia}:failed`]);
    assert.equal(v9.data.targets![2].error?.code, 'NOT_MANAGED');
    assert.match(v9.data.targets![2].error.message, /managed by a dropdeploy installation that did not name itself/);
    const [untouched] = await services.getService({name: name(asia)});
    assert.equal(untouched.labels?.['dropdeploy-installation'], undefined, 'asia-east1 was not taken over');
  });

  it("a rollback restores each region's own environment of that release", async () => {
    const two = await api('PATCH', `/v1/services/${SERVICE}/policy`, {targets: [{region: stack.info.region}, {region: EU}]});
    assert.equal(two.status, 200, JSON.stringify(two.body));
    // A variable only europe-west1 has, set by hand as gcloud would.
    const [eu] = await services.getService({name: name(EU)});
    eu.template!.containers![0].env = [...(eu.template!.containers![0].env ?? []), {name: 'REGION_NOTE', value: 'eu'}];
    await (await services.updateService({service: eu}))[0].promise();
    const v10 = await api('PATCH', `/v1/services/${SERVICE}/env`, {set: {API_TOKEN: 's3cret'}});
    assert.equal((await ended(10)).state, 'deployed', JSON.stringify(v10.body));
    const v11 = await api('PATCH', `/v1/services/${SERVICE}/env`, {unset: ['REGION_NOTE'], set: {GREETING: 'later'}});
    assert.equal((await ended(11)).state, 'deployed', JSON.stringify(v11.body));
    const back = await api('POST', `/v1/services/${SERVICE}:rollback`, {release: 10});
    assert.equal(back.status, 202, JSON.stringify(back.body));
    const v12 = await ended(12);
    assert.equal(v12.state, 'deployed', JSON.stringify(v12.data));
    const envOf = async (region: string) =>
      ((await services.getService({name: name(region)}))[0].template!.containers![0].env ?? [])
        .map((e) => `${e.name}=${e.value ?? ''}`)
        .sort();
    assert.deepEqual(await envOf(stack.info.region), ['API_TOKEN=s3cret', 'GREETING=hey']);
    assert.deepEqual(await envOf(EU), ['API_TOKEN=s3cret', 'GREETING=hey', 'REGION_NOTE=eu'], "europe-west1's own env of v10");
  });

  it('a rollback in a region that never ran that release says so', async () => {
    const added = 'asia-northeast1';
    const three = await api('PATCH', `/v1/services/${SERVICE}/policy`, {
      targets: [{region: stack.info.region}, {region: EU}, {region: added}],
      targetOrder: 'sequential',
    });
    assert.equal(three.status, 200, JSON.stringify(three.body));
    const back = await api('POST', `/v1/services/${SERVICE}:rollback`, {release: 10});
    assert.equal(back.status, 202, JSON.stringify(back.body));
    const v13 = await ended(13);
    assert.equal(v13.state, 'deploy_failed', JSON.stringify(v13.data));
    const t = v13.data.targets![2];
    assert.equal(t.error?.code, 'ENV_VALUES_NOT_STORED', JSON.stringify(t));
    assert.match(
      t.error.message,
      /the values of API_TOKEN were never stored .* and asia-northeast1 \(project dropdeploy-local\) never ran v10/,
    );
  });

  it('every status event carries the targets within the published schema', () => {
    assert.ok(seen.some((e) => e.data.targets?.length === 2));
    for (const e of seen) assert.ok(validateEventData(e.data), `${e.state}: ${JSON.stringify(validateEventData.errors)}`);
  });
});
