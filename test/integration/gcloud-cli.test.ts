/**
 * The real gcloud CLI against `npm start`'s stack (LocalStack), with exactly the variables of
 * local.json's `gcloud` object (what `npm start` prints as `export` lines; the stack's own,
 * empty config folder among them), so no Google account is involved: `gcloud builds list / describe / log / cancel`
 * after a real drop was built, their output checked against what the stack holds.
 */
import assert from 'node:assert/strict';
import {execFile} from 'node:child_process';
import {cpSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, it} from 'node:test';
import type {Message} from '@google-cloud/pubsub';
import {drop} from '../../local/drop';
import {REPO_ROOT} from '../../local/repo-root';
import {LocalStack, type LocalInfo} from '../../local/stack';
import {requireEmulators} from './stack';
import {announcedState} from './local-stack-clients';
import {parseJson} from '../json';

interface Seen {
  state: string;
  data: {service?: string; release?: number; buildId?: string; buildLogUrl?: string; url?: string};
}

interface GcloudBuild {
  id: string;
  status: string;
  projectId: string;
  name: string;
  createTime: string;
  images?: string[];
  logUrl: string;
  options?: {logging?: string};
  results?: {images?: Array<{name: string; digest: string}>};
  source?: {storageSource?: {bucket: string; object: string; generation: string}};
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('gcloud against the local stack', {timeout: 240_000}, () => {
  let stack: LocalStack;
  let info: LocalInfo;
  const seen: Seen[] = [];
  const root = mkdtempSync(join(tmpdir(), 'dd-gcloud-'));
  const home = mkdtempSync(join(tmpdir(), 'dd-gcloud-home-'));

  /** Runs gcloud with local.json's variables only (plus PATH and a HOME of its own). */
  const gcloud = (...args: string[]): Promise<Run> =>
    new Promise((resolve, reject) => {
      const env = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        ...info.gcloud,
      };
      execFile('gcloud', args, {env, timeout: 90_000}, (err, stdout, stderr) => {
        // A spawn failure (ENOENT) has a string code; a command that ran and failed, its exit status.
        if (err && typeof err.code === 'string')
          return reject(new Error(`gcloud could not run (${err.code}): install the Google Cloud CLI`));
        resolve({code: err ? Number(err.code ?? 1) : 0, stdout, stderr});
      });
    });
  const ok = async (...args: string[]): Promise<string> => {
    const run = await gcloud(...args);
    assert.equal(run.code, 0, `gcloud ${args.join(' ')} failed:\n${run.stderr}`);
    return run.stdout;
  };

  const waitState = async (service: string, release: number, states: string[], ms = 120_000): Promise<Seen> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = seen.find((e) => e.data.service === service && e.data.release === release && states.includes(e.state));
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no ${states.join('/')} for ${service} v${release}; saw ${JSON.stringify(seen)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  /** The example app, with a build script that runs for a minute: a build to cancel. */
  const slowApp = () => {
    const dir = mkdtempSync(join(tmpdir(), 'dd-slow-app-'));
    cpSync(join(REPO_ROOT, 'examples', 'hello-app'), dir, {recursive: true});
    const pkg = parseJson<{scripts: Record<string, string>}>(readFileSync(join(dir, 'package.json'), 'utf8'));
    pkg.scripts.build = 'node -e "setTimeout(() => {}, 60000)"';
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
    return dir;
  };

  before(async () => {
    requireEmulators();
    stack = await LocalStack.start({
      root,
      startupTimeoutMs: 10_000,
      reconcileSeconds: 0,
      onStatus: (m: Message) => seen.push({state: announcedState(m), data: parseJson<Seen['data']>(m.data)}),
    });
    info = parseJson<LocalInfo>(readFileSync(join(root, 'local.json'), 'utf8'));
  });
  after(async () => {
    await stack?.stop();
  });

  it('local.json names the overrides, a token file, the project, its own config and the proxy, as npm start prints them', () => {
    assert.deepEqual(Object.keys(info.gcloud), [
      'CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD',
      'CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN',
      'CLOUDSDK_API_ENDPOINT_OVERRIDES_MONITORING',
      'CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING',
      'CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE',
      'CLOUDSDK_AUTH_ACCESS_TOKEN_FILE',
      'CLOUDSDK_CORE_PROJECT',
      'CLOUDSDK_RUN_REGION',
      'CLOUDSDK_CONFIG',
      'CLOUDSDK_CORE_DISABLE_PROMPTS',
      'CLOUDSDK_CORE_DISABLE_USAGE_REPORTING',
      'CLOUDSDK_PROXY_TYPE',
      'CLOUDSDK_PROXY_ADDRESS',
      'CLOUDSDK_PROXY_PORT',
    ]);
    assert.equal(info.gcloud.CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD, `${info.cloudBuildRestUrl}/`);
    assert.equal(info.gcloud.CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN, `${info.cloudRunRestUrl}/`);
    assert.equal(info.gcloud.CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE, `${info.storageEndpoint}/storage/v1/`);
    assert.equal(info.gcloud.CLOUDSDK_CORE_PROJECT, info.projectId);
    assert.ok(readFileSync(info.gcloud.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE, 'utf8').trim(), 'the token file has a token');
  });

  let built: Seen;

  it('gcloud builds list and describe show the build of a drop, as the stack holds it', async () => {
    drop(info.bucketDir, {path: join(REPO_ROOT, 'examples', 'hello-app'), service: 'hello'});
    await waitState('hello', 1, ['deployed', 'build_failed', 'deploy_failed']);
    built = await waitState('hello', 1, ['building']);
    const id = built.data.buildId!;

    const list = parseJson<GcloudBuild[]>(await ok('builds', 'list', '--format=json'));
    assert.deepEqual(
      list.map((b) => [b.id, b.status]),
      [[id, 'SUCCESS']],
    );

    const build = parseJson<GcloudBuild>(await ok('builds', 'describe', id, '--format=json'));
    assert.equal(build.id, id);
    assert.equal(build.name, `projects/${info.projectId}/locations/global/builds/${id}`);
    assert.equal(build.status, 'SUCCESS');
    assert.equal(build.projectId, info.projectId);
    assert.equal(build.logUrl, built.data.buildLogUrl);
    assert.equal(build.options?.logging, 'CLOUD_LOGGING_ONLY');
    assert.match(build.createTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.equal(build.source?.storageSource?.bucket, info.bucket);
    assert.match(build.source.storageSource.generation, /^\d+$/, 'int64 as a string');
    const image = build.images![0];
    assert.equal(build.results?.images?.[0]?.name, image);
    assert.match(build.results.images[0].digest, /^sha256:[0-9a-f]{64}$/);

    // The table form too, and a filter gcloud sends to the server.
    const table = await ok('builds', 'list', '--filter', `id=${id}`, '--format=value(id,status)');
    assert.equal(table.trim(), `${id}\tSUCCESS`);
  });

  it('gcloud builds log prints the build log, line for line as its logUrl shows it', async () => {
    const id = built.data.buildId!;
    const out = await ok('builds', 'log', id);
    // gcloud prints each entry right-trimmed and skips empty ones.
    const want = (await (await fetch(built.data.buildLogUrl!)).text())
      .split('\n')
      .map((l) => l.trimEnd())
      .filter(Boolean);
    assert.ok(want.length > 3, 'the build logged something');
    const lines = out.trimEnd().split('\n');
    assert.match(lines[0], /REMOTE BUILD OUTPUT/);
    assert.deepEqual(lines.slice(1, -1), want);
    assert.match(lines.at(-1)!, /^-+$/);
  });

  it('gcloud builds describe / log of an unknown build fail with NOT_FOUND', async () => {
    for (const command of ['describe', 'log']) {
      const run = await gcloud('builds', command, '00000000-0000-0000-0000-000000000000');
      assert.equal(run.code, 1);
      assert.match(run.stderr, /NOT_FOUND: Requested entity was not found/);
    }
  });

  it('gcloud builds cancel stops a running build; cancelling it again says it has finished', async () => {
    drop(info.bucketDir, {path: slowApp(), service: 'slow'});
    const building = await waitState('slow', 1, ['building']);
    const id = building.data.buildId!;
    const deadline = Date.now() + 60_000;
    while (stack && Date.now() < deadline) {
      const status = (await ok('builds', 'describe', id, '--format=value(status)')).trim();
      if (status === 'WORKING') break;
      assert.equal(status, 'QUEUED');
      await new Promise((r) => setTimeout(r, 200));
    }
    // --stream follows the build until it ends: here, until the cancel below.
    const streaming = gcloud('builds', 'log', '--stream', id);
    const cancelled = await gcloud('builds', 'cancel', id);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.match(
      cancelled.stderr,
      new RegExp(`Cancelled \\[${info.cloudBuildRestUrl}/v1/projects/${info.projectId}/locations/global/builds/${id}\\]`),
    );
    const stream = await streaming;
    assert.equal(stream.code, 0, stream.stderr);
    assert.equal((await ok('builds', 'describe', id, '--format=value(status)')).trim(), 'CANCELLED');
    await waitState('slow', 1, ['build_failed']);

    const again = await gcloud('builds', 'cancel', id);
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`FAILED_PRECONDITION: Build ${id} has already finished with status CANCELLED`));
  });
});
