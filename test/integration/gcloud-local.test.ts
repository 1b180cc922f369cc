/**
 * The real gcloud CLI against `npm start`'s stack (LocalStack), run with exactly the variables
 * the stack publishes in local.json's `gcloud` object (plus PATH): `gcloud run services list /
 * describe / update --update-env-vars / --remove-env-vars` and `gcloud run revisions list` over
 * the Cloud Run v1 API, seen through the v2 API (the official client), the app's answer and
 * `dropdeploy env`; `gcloud storage ls`, `cp` down and `cp` up, the upload deploying.
 */
import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import {cpSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import type {Message} from '@google-cloud/pubsub';
import {RevisionsClient, type ServicesClient} from '@google-cloud/run';
import {clientOptions} from '../../local/grpc/client-options';
import {dropFile} from '../../local/bucket/watcher';
import {packFolder} from '../../local/drop';
import {REPO_ROOT} from '../../local/repo-root';
import {LocalStack} from '../../local/stack';
import {parseJson} from '../json';
import {cli} from '../cli/run-cli';
import {announcedState, localServicesClient} from './local-stack-clients';
import {requireEmulators} from './stack';

const SERVICE = 'hello-app';
const APP = join(REPO_ROOT, 'examples', 'hello-app');

interface Seen {
  state: string;
  data: {service?: string; release?: number; url?: string; source?: {object?: string; generation?: string}};
}

interface KnativeService {
  metadata: {name: string; generation: number; labels: Record<string, string>};
  spec: {template: {spec: {containers: Array<{env?: Array<{name: string; value?: string}>}>}}};
  status: {url: string; latestReadyRevisionName: string; observedGeneration: number; conditions: Array<{type: string; status: string}>};
}

describe('gcloud against the local stack', {timeout: 300_000}, () => {
  let stack: LocalStack;
  let services: ServicesClient;
  const seen: Seen[] = [];
  const logs: string[] = [];
  const root = mkdtempSync(join(tmpdir(), 'dd-gcloud-'));
  const work = mkdtempSync(join(tmpdir(), 'dd-gcloud-work-'));

  /** Runs gcloud with only PATH and the stack's published variables. */
  const gcloud = (...args: string[]) =>
    new Promise<{code: number; stdout: string; stderr: string}>((resolve) => {
      execFile(
        'gcloud',
        args,
        {env: {PATH: process.env.PATH, ...stack.info.gcloud}, cwd: work, timeout: 120_000, maxBuffer: 16 * 1024 * 1024},
        (err, stdout, stderr) => resolve({code: err ? ((err as {code?: number}).code ?? 1) : 0, stdout, stderr}),
      );
    });
  const ok = async (...args: string[]) => {
    const r = await gcloud(...args);
    assert.equal(r.code, 0, `gcloud ${args.join(' ')} failed:\n${r.stderr}\n${logs.slice(-20).join('\n')}`);
    return r;
  };
  const describeJson = async () => parseJson<KnativeService>((await ok('run', 'services', 'describe', SERVICE, '--format=json')).stdout);
  const v2 = async () =>
    (await services.getService({name: `projects/${stack.info.projectId}/locations/${stack.info.region}/services/${SERVICE}`}))[0];
  const v2Env = async (): Promise<Record<string, string | undefined>> =>
    Object.fromEntries((await v2()).template?.containers?.[0]?.env?.map((e) => [e.name ?? '', e.value ?? undefined]) ?? []);
  const answer = async () => (await (await fetch((await describeJson()).status.url)).text()).trim();
  const event = async (pred: (e: Seen) => boolean, what: string, timeoutMs = 90_000): Promise<Seen> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = seen.find(pred);
      if (hit) return hit;
      if (Date.now() > until)
        assert.fail(`no ${what}; seen: ${seen.map((e) => `${e.data.release}:${e.state}`).join(' ')}\n${logs.slice(-30).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    requireEmulators();
    stack = await LocalStack.start({
      root,
      startupTimeoutMs: 10_000,
      reconcileSeconds: 0,
      onLog: (l) => logs.push(l),
      onStatus: (m: Message) => seen.push({state: announcedState(m), data: parseJson<Seen['data']>(m.data)}),
    });
    services = localServicesClient(stack.info);
    dropFile(stack.info.bucketDir, `${SERVICE}/v1.tgz`, packFolder(APP));
    const v1 = await event((e) => e.data.release === 1 && /^(deployed|build_failed|deploy_failed)$/.test(e.state), 'end of v1');
    assert.equal(v1.state, 'deployed');
  });
  after(async () => {
    await services?.close();
    await stack?.stop();
  });

  it('local.json publishes the gcloud variables: endpoint overrides, project, region, token, proxy', () => {
    const info = parseJson<{gcloud: Record<string, string>; cloudRunRestUrl: string}>(readFileSync(join(root, 'local.json')));
    assert.deepEqual(info.gcloud, stack.info.gcloud);
    assert.equal(info.gcloud.CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN, `${info.cloudRunRestUrl}/`);
    assert.equal(info.gcloud.CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE, `${stack.info.storageEndpoint}/storage/v1/`);
    assert.equal(info.gcloud.CLOUDSDK_CORE_PROJECT, stack.info.projectId);
    assert.equal(info.gcloud.CLOUDSDK_RUN_REGION, stack.info.region);
  });

  it('gcloud run services list (all regions, and --region) and describe show the v2 service', async () => {
    const live = await v2();
    const all = parseJson<KnativeService[]>((await ok('run', 'services', 'list', '--format=json')).stdout);
    const regional = parseJson<KnativeService[]>(
      (await ok('run', 'services', 'list', '--region', stack.info.region, '--format=json')).stdout,
    );
    for (const list of [all, regional]) {
      assert.deepEqual(
        list.map((s) => s.metadata.name),
        [SERVICE],
      );
      assert.equal(list[0].status.url, live.uri);
    }
    // The region is the request's: gcloud asks europe-west1-<host>, and the stack has nothing there.
    assert.deepEqual(parseJson((await ok('run', 'services', 'list', '--region', 'europe-west1', '--format=json')).stdout), []);
    const d = await describeJson();
    assert.equal(d.metadata.labels['managed-by'], 'dropdeploy');
    assert.equal(d.status.latestReadyRevisionName, live.latestReadyRevision?.split('/').pop());
    assert.equal(d.metadata.generation, Number(live.generation));
    assert.deepEqual(
      d.status.conditions.map((c) => `${c.type}=${c.status}`),
      ['Ready=True', 'ConfigurationsReady=True', 'RoutesReady=True'],
    );
    const missing = await gcloud('run', 'services', 'describe', 'nope');
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /Cannot find service \[nope\]/);
  });

  let firstRevision = '';
  it('gcloud run services update --update-env-vars: a new revision the v2 API, the app and dropdeploy env show', async () => {
    firstRevision = (await describeJson()).status.latestReadyRevisionName;
    const r = await ok('run', 'services', 'update', SERVICE, '--update-env-vars', 'GREETING=Howdy,EXTRA=1');
    assert.match(r.stderr, /has been deployed and is serving 100 percent of traffic/);
    const env = await v2Env();
    assert.equal(env.GREETING, 'Howdy');
    assert.equal(env.EXTRA, '1');
    const live = await v2();
    assert.notEqual(live.latestReadyRevision?.split('/').pop(), firstRevision);
    assert.equal(live.labels?.['managed-by'], 'dropdeploy', 'the controller still owns it');
    assert.match(await answer(), /^Howdy \(v1\) — revision hello-app-00002-/);
    const shown = await cli(['env', SERVICE, '--url', stack.info.apiUrl, '--json']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /GREETING[\s\S]*Howdy/);
  });

  it('gcloud run services update --remove-env-vars', async () => {
    await ok('run', 'services', 'update', SERVICE, '--remove-env-vars', 'GREETING');
    const env = await v2Env();
    assert.equal(env.GREETING, undefined);
    assert.equal(env.EXTRA, '1');
    assert.match(await answer(), /^Hello from dropdeploy \(v1\) — revision hello-app-00003-/);
  });

  it('gcloud run revisions list: every revision, newest first, the serving one active', async () => {
    const listed = parseJson<Array<{metadata: {name: string}; status: {conditions: Array<{type: string; status: string}>}}>>(
      (await ok('run', 'revisions', 'list', '--service', SERVICE, '--format=json')).stdout,
    );
    const [port, host] = [Number(stack.info.cloudRunEndpoint.split(':')[1]), stack.info.cloudRunEndpoint.split(':')[0]];
    const revisions = new RevisionsClient(clientOptions(port, host));
    const [v2Revisions] = await revisions.listRevisions({parent: (await v2()).name});
    await revisions.close();
    const names = listed.map((r) => r.metadata.name);
    assert.deepEqual(
      names,
      v2Revisions.map((r) => r.name?.split('/').pop()),
    );
    assert.equal(names.length, 3);
    assert.equal(names[2], firstRevision);
    const active = listed.filter((r) => r.status.conditions.some((c) => c.type === 'Active' && c.status === 'True'));
    assert.deepEqual(
      active.map((r) => r.metadata.name),
      [(await v2()).latestReadyRevision?.split('/').pop()],
    );
    const table = await ok('run', 'revisions', 'list', '--service', SERVICE);
    assert.match(table.stdout, new RegExp(`${names[0]}\\s+yes\\s+${SERVICE}`));
  });

  it('gcloud storage ls and ls -l show the bucket; cp down gives the uploaded bytes', async () => {
    const ls = await ok('storage', 'ls', `gs://${stack.info.bucket}/`);
    assert.equal(ls.stdout.trim(), `gs://${stack.info.bucket}/${SERVICE}/`);
    const dropped = readFileSync(join(stack.info.bucketDir, SERVICE, 'v1.tgz'));
    const long = await ok('storage', 'ls', '-l', `gs://${stack.info.bucket}/${SERVICE}/`);
    assert.match(long.stdout, new RegExp(`^\\s*${dropped.length}\\s+\\S+\\s+gs://${stack.info.bucket}/${SERVICE}/v1\\.tgz$`, 'm'));
    await ok('storage', 'cp', `gs://${stack.info.bucket}/${SERVICE}/v1.tgz`, join(work, 'down.tgz'));
    assert.deepEqual(readFileSync(join(work, 'down.tgz')), dropped);
    const other = await gcloud('storage', 'ls', 'gs://another-bucket/');
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /gs:\/\/another-bucket not found: 404/);
  });

  it('gcloud storage cp up is an upload like any other: one release, deployed, the new code serving', async () => {
    const app = mkdtempSync(join(tmpdir(), 'dd-gcloud-app-'));
    cpSync(APP, app, {recursive: true});
    writeFileSync(join(app, 'server.js'), readFileSync(join(app, 'server.js'), 'utf8').replace("|| 'v1'", "|| 'v2-from-gcloud'"));
    const archive = packFolder(app);
    await ok('storage', 'cp', archive, `gs://${stack.info.bucket}/${SERVICE}/v2.tgz`);
    const done = await event((e) => e.data.release === 2 && /^(deployed|build_failed|deploy_failed)$/.test(e.state), 'end of v2');
    assert.equal(done.state, 'deployed', JSON.stringify(done.data));
    assert.equal(done.data.source?.object, `${SERVICE}/v2.tgz`);
    assert.deepEqual(readFileSync(join(stack.info.bucketDir, SERVICE, 'v2.tgz')), readFileSync(archive), 'the folder has the upload too');
    assert.match(await answer(), /\(v2-from-gcloud\)/);
    // The folder's copy is not a second upload: no release 3 comes.
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(
      seen.filter((e) => e.state === 'accepted').map((e) => e.data.release),
      [1, 2],
    );
  });
});
