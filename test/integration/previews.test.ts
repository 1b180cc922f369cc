/**
 * Previews through `npm start`'s own code (LocalStack), observed on the Cloud Run service (the
 * official ServicesClient), on the URLs and in the status events: a preview gets its own working
 * URL while the main URL keeps serving the main line; a newer upload of the same preview moves
 * its tag; a main-line upload keeps it; deleting the preview's file removes the tag; the API
 * lists and removes previews, idempotently; a `rollout-v<digits>` name is rejected.
 */
import assert from 'node:assert/strict';
import {cpSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import type {Message} from '@google-cloud/pubsub';
import {ServicesClient} from '@google-cloud/run';
import {dropFile} from '../../local/bucket/watcher';
import {packFolder} from '../../local/drop';
import {REPO_ROOT} from '../../local/repo-root';
import {LocalStack} from '../../local/stack';
import {parseJson} from '../json';
import {cli} from '../cli/run-cli';
import {announcedState, localServicesClient} from './local-stack-clients';
import {requireEmulators} from './stack';

interface Seen {
  state: string;
  subject: string;
  data: {
    service?: string;
    release?: number;
    url?: string;
    revision?: string;
    preview?: {name: string; url?: string};
    error?: {code: string};
  };
}

const APP = join(REPO_ROOT, 'test', 'fixtures', 'rollout-app');
const SERVICE = 'web';
const TERMINAL = /^(deployed|rolled_back|superseded|deploy_failed|build_failed|rejected)$/;

describe('previews through the local stack', {timeout: 300_000}, () => {
  let stack: LocalStack;
  let services: ServicesClient;
  const seen: Seen[] = [];
  const logs: string[] = [];
  const root = mkdtempSync(join(tmpdir(), 'dd-previews-'));

  const archive = (version: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'dd-previews-app-'));
    cpSync(APP, dir, {recursive: true});
    writeFileSync(join(dir, 'behaviour.json'), JSON.stringify({version, health: 200, errors: false}));
    return packFolder(dir);
  };
  const drop = (object: string, version: string) => dropFile(stack.info.bucketDir, object, archive(version));

  const event = async (pred: (e: Seen) => boolean, what: string, timeoutMs = 60_000): Promise<Seen> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const hit = seen.find(pred);
      if (hit) return hit;
      if (Date.now() > until)
        assert.fail(`no ${what}; seen: ${seen.map((e) => `${e.data.release}:${e.state}`).join(' ')}\n${logs.slice(-30).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const ended = (release: number) =>
    event((e) => e.data.service === SERVICE && e.data.release === release && TERMINAL.test(e.state), `end of v${release}`);
  const service = async () =>
    (await services.getService({name: `projects/${stack.info.projectId}/locations/${stack.info.region}/services/${SERVICE}`}))[0];
  const body = async (url: string) => (await fetch(url)).text();
  const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 30_000) => {
    const end = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > end) assert.fail(`${what} did not happen\n${logs.slice(-30).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const api = async (path: string, method = 'GET') => {
    const r = await fetch(`${stack.info.apiUrl}${path}`, {method});
    return {status: r.status, body: (await r.json()) as Record<string, unknown>};
  };

  before(async () => {
    requireEmulators();
    stack = await LocalStack.start({
      root,
      startupTimeoutMs: 10_000,
      onLog: (l) => logs.push(l),
      reconcileSeconds: 0,
      onStatus: (m: Message) =>
        seen.push({
          state: announcedState(m),
          subject: m.attributes['ce-subject'],
          data: parseJson<Seen['data']>(m.data),
        }),
    });
    services = localServicesClient(stack.info);
  });
  after(async () => {
    await services?.close();
    await stack?.stop();
  });

  let mainUrl = '';
  let previewUrl = '';

  it('a preview gets its own URL with no traffic; the main URL keeps serving the main line', async () => {
    drop(`${SERVICE}/main-1.tgz`, 'main1');
    const v1 = await ended(1);
    assert.equal(v1.state, 'deployed');
    mainUrl = v1.data.url!;
    const before = await service();
    drop(`${SERVICE}/previews/pr-7.tgz`, 'pr7a');
    const v2 = await ended(2);
    assert.equal(v2.state, 'deployed', JSON.stringify(v2.data));
    assert.equal(v2.data.preview?.name, 'pr-7');
    previewUrl = v2.data.preview?.url ?? '';
    assert.ok(previewUrl && previewUrl !== mainUrl, `preview URL ${previewUrl}`);
    assert.equal(v2.data.url, previewUrl);
    assert.match(await body(previewUrl), /^pr7a /);
    assert.match(await body(mainUrl), /^main1 /);
    const after = await service();
    assert.equal(after.labels?.['dropdeploy-release'], 'v1', 'the main line fence stays');
    const serving = (after.trafficStatuses ?? []).filter((t) => (t.percent ?? 0) > 0);
    assert.deepEqual(
      serving.map((t) => [t.revision, t.percent]),
      [[before.latestReadyRevision!.split('/').pop(), 100]],
    );
    assert.ok((after.traffic ?? []).some((t) => t.tag === 'pr-7' && t.revision === 'web-p2' && !t.percent));
  });

  it('lists the preview through the API with its URL', async () => {
    const listed = await api(`/v1/services/${SERVICE}/previews`);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.previews, [
      {
        name: 'pr-7',
        latestRelease: 2,
        release: 2,
        revision: 'web-p2',
        url: previewUrl,
        time: (listed.body.previews as Array<{time: string}>)[0].time,
      },
    ]);
  });

  it('`dropdeploy previews` lists it with its URL', async () => {
    const out = await cli(['previews', SERVICE, '--url', stack.info.apiUrl]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^PREVIEW\s+RELEASE\s+LATEST\s+URL/);
    assert.match(out.stdout, new RegExp(`pr-7\\s+v2\\s+v2\\s+${previewUrl.replace(/[.]/g, '\\.')}`));
  });

  it('a newer upload of the preview moves its tag; the URL stays and serves it', async () => {
    drop(`${SERVICE}/previews/pr-7.tgz`, 'pr7b');
    const v3 = await ended(3);
    assert.equal(v3.state, 'deployed');
    assert.equal(v3.data.preview?.url, previewUrl);
    assert.match(await body(previewUrl), /^pr7b /);
    assert.match(await body(mainUrl), /^main1 /);
  });

  it('a main-line upload takes the main URL and keeps the preview', async () => {
    drop(`${SERVICE}/main-2.tgz`, 'main2');
    const v4 = await ended(4);
    assert.equal(v4.state, 'deployed');
    assert.match(await body(mainUrl), /^main2 /);
    assert.match(await body(previewUrl), /^pr7b /);
  });

  it('deleting the preview file removes its tag; the main URL serves on', async () => {
    rmSync(join(stack.info.bucketDir, SERVICE, 'previews', 'pr-7.tgz'));
    await until('the tag pr-7 to go', async () => !((await service()).traffic ?? []).some((t) => t.tag === 'pr-7'));
    await until('the preview URL to answer 404', async () => (await fetch(previewUrl)).status === 404);
    assert.match(await body(mainUrl), /^main2 /);
    assert.deepEqual((await api(`/v1/services/${SERVICE}/previews`)).body.previews, []);
  });

  it('DELETE through the API removes a preview; a second DELETE is a no-op that says so', async () => {
    drop(`${SERVICE}/previews/docs.tgz`, 'docs');
    const v5 = await ended(5);
    assert.equal(v5.state, 'deployed');
    assert.match(await body(v5.data.preview!.url!), /^docs /);
    const first = await api(`/v1/services/${SERVICE}/previews/docs`, 'DELETE');
    assert.equal(first.status, 200);
    assert.equal(first.body.removed, true);
    assert.equal((await fetch(v5.data.preview!.url!)).status, 404);
    const second = await cli(['previews', SERVICE, 'delete', 'docs', '--url', stack.info.apiUrl]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /removed already/);
    const unknown = await api(`/v1/services/${SERVICE}/previews/nope`, 'DELETE');
    assert.equal(unknown.body.removed, false);
    assert.match(String(unknown.body.detail), /has no preview "nope"/);
    assert.match(await body(mainUrl), /^main2 /);
  });

  it('a preview named rollout-v<digits> is rejected: that tag belongs to rollouts', async () => {
    drop(`${SERVICE}/previews/rollout-v12.tgz`, 'bad');
    const rejected = await event(
      (e) => e.state === 'rejected' && e.subject.includes('previews/rollout-v12'),
      'the rejection of previews/rollout-v12',
    );
    assert.match(JSON.stringify(rejected.data), /reserved/);
  });
});
