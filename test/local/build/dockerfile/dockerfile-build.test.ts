/**
 * Dockerfile sources built for real through createLocalBuilder, the Cloud Build emulator and
 * the official client, as local-builder.test.ts drives the buildpacks path; each image is then
 * started by the local Cloud Run's process runner, as a revision would be, and asked over HTTP.
 */
import {after, before, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {CloudBuildClient} from '@google-cloud/cloudbuild';
import {CloudBuildEmulator} from '../../../../local/cloud-build/emulator';
import {isTerminalBuildStatus} from '../../../../src/releases/build-statuses';
import {generationPath, objectDir} from '../../../../local/bucket/object-store';
import {BuildLogs} from '../../../../local/build/build-log';
import {createLocalBuilder} from '../../../../local/build/local-builder';
import {packFolder} from '../../../../local/drop';
import {clientOptions} from '../../../../local/grpc/client-options';
import {REPO_ROOT} from '../../../../local/repo-root';
import {LocalRegistry} from '../../../../local/build/registry';
import {createProcessRevisionRunner} from '../../../../local/cloud-run/process-revision-runner';
import type {CheckedTemplate} from '../../../../local/cloud-run/messages';
import {buildSpec} from '../../../../src/releases/build-request';
import {asClientBuild, operationBuildId} from '../../cloud-build/cloud-build-client';
import {tarGz, type TarEntry} from '../fixtures-archives';

process.env.METADATA_SERVER_DETECTION ??= 'none';

const PROJECT = 'demo-project';
const BUCKET = 'dd-sources';
const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'apps');
const base = mkdtempSync(join(tmpdir(), 'dd-dockerfile-'));
const storeRoot = join(base, 'store');
const registry = new LocalRegistry(join(base, 'registry'));
const logs = new BuildLogs();
const builder = createLocalBuilder({storeRoot, bucket: BUCKET, registry, workRoot: join(base, 'work'), logs});
const runner = createProcessRevisionRunner({registry, logDir: join(base, 'run-logs'), startupTimeoutMs: 10_000});
let emu: CloudBuildEmulator;
let client: CloudBuildClient;
let generation = 1000;

/** Stores `bytes` as a new generation of `object`, builds it as the controller would ask, and waits for the end. */
async function build(object: string, bytes: Buffer) {
  const gen = String(++generation);
  mkdirSync(objectDir(storeRoot, object), {recursive: true});
  writeFileSync(generationPath(storeRoot, object, gen), bytes);
  const now = new Date().toISOString();
  const meta = {
    bucket: BUCKET,
    name: object,
    generation: gen,
    metageneration: '1',
    size: String(bytes.length),
    timeCreated: now,
    updated: now,
  };
  writeFileSync(`${generationPath(storeRoot, object, gen)}.json`, JSON.stringify({...meta, contentType: 'application/gzip'}));
  const spec = buildSpec(
    {projectId: PROJECT, region: 'europe-west1', repository: 'dd', firestore: {root: 'dropdeploy'}, build: {timeoutSeconds: 120}},
    {service: object.split('/')[0], release: 1},
    {bucket: BUCKET, object, generation: gen},
  );
  const [op] = await client.createBuild({projectId: PROJECT, build: asClientBuild(spec)});
  const id = operationBuildId(op);
  for (;;) {
    const [b] = await client.getBuild({projectId: PROJECT, id});
    if (isTerminalBuildStatus(String(b.status))) return {done: b, image: spec.images[0], log: logs.get(id) ?? ''};
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts the image as the local Cloud Run starts a revision, and returns what `/` answers. */
async function serve(service: string, image: string, env: Record<string, string> = {}): Promise<string> {
  const name = `${service}-00001-abc`;
  const template = {containers: [{image}]} as CheckedTemplate;
  const ready = await runner.start({
    service,
    name,
    serviceName: service,
    revisionName: name,
    image,
    env,
    port: 8080,
    template,
    secretEnv: [],
    command: [],
    args: [],
  });
  assert.ok(ready.ready, !ready.ready ? ready.message : '');
  try {
    return await (await fetch(ready.url!)).text();
  } finally {
    await runner.stop(name);
  }
}

describe('Dockerfile sources through the local builder', {timeout: 120_000}, () => {
  before(async () => {
    emu = new CloudBuildEmulator({runner: builder});
    client = new CloudBuildClient(clientOptions(await emu.start()));
  });
  after(async () => {
    await client.close();
    await emu.stop();
    await runner.stopAll();
    rmSync(base, {recursive: true, force: true});
  });

  it("builds the Cloud Run sample shape (docker-single) and runs it in its WORKDIR with the Dockerfile's ENV", async () => {
    const {done, image, log} = await build('single/app.tgz', readFileSync(packFolder(join(FIXTURES, 'docker-single'))));
    assert.equal(done.status, 'SUCCESS', `${done.statusDetail ?? ''}\n${log}`);
    const steps = log.split('\n').filter((l) => l.startsWith('Step '));
    assert.deepEqual(steps, [
      'Step 1/7 : FROM node:20-slim',
      'Step 2/7 : WORKDIR /usr/src/app',
      'Step 3/7 : COPY package*.json ./',
      'Step 4/7 : RUN npm install --omit=dev',
      'Step 5/7 : COPY . .',
      'Step 6/7 : ENV GREETING="Hello from a Dockerfile"',
      'Step 7/7 : CMD ["node", "index.js"]',
    ]);
    assert.match(log, / ---> Using this machine's Node\.js \d+\.\d+\.\d+ for node:20-slim/);
    const resolved = registry.resolve(image)!;
    assert.deepEqual(resolved.config, {
      entrypoint: ['docker-entrypoint.sh'],
      cmd: ['node', 'index.js'],
      env: {GREETING: 'Hello from a Dockerfile'},
      workingDir: 'usr/src/app',
    });
    // npm install ran in the WORKDIR under the rootfs, and .dockerignore kept its files out.
    const app = join(resolved.rootfs, 'usr', 'src', 'app');
    assert.ok(existsSync(join(app, 'package-lock.json')), 'npm install wrote its lockfile in the WORKDIR');
    assert.ok(!existsSync(join(app, 'notes.md')) && !existsSync(join(app, 'Dockerfile')));
    assert.equal((await serve('single', image)).trim(), 'Hello from a Dockerfile (cwd /usr/src/app; excluded files present: none)');
  });

  it('builds a multi-stage Dockerfile (docker-multi): the build stage runs a script, the image gets only its output', async () => {
    const {done, image, log} = await build('multi/app.tgz', readFileSync(packFolder(join(FIXTURES, 'docker-multi'))));
    assert.equal(done.status, 'SUCCESS', `${done.statusDetail ?? ''}\n${log}`);
    assert.match(log, /Step 5\/14 : RUN node build\.js\nbuild\.js wrote dist\/server\.js\n/);
    assert.match(log, /Step 9\/14 : COPY --from=build \/src\/dist \.\/dist\n/);
    assert.match(log, /USER node is recorded; the local build and run cannot switch users/);
    const resolved = registry.resolve(image)!;
    assert.deepEqual(resolved.config, {
      entrypoint: ['node'],
      cmd: ['dist/server.js'],
      env: {NODE_ENV: 'production', BUILT_BY: 'the build stage'},
      workingDir: 'app',
      user: 'node',
      exposedPorts: ['3000'],
    });
    // EXPOSE 3000 does not move PORT: Cloud Run sets it, and the app listens there.
    assert.equal(
      (await serve('multi', image, {NODE_ENV: 'from-the-service'})).trim(),
      'docker-multi: built at step "RUN node build.js" in /src; from-the-service by the build stage; left behind: nothing',
    );
  });

  const failures: {name: string; files: TarEntry[]; detail: RegExp}[] = [
    {
      name: 'a RUN that fails: the line, the command and its output',
      files: [{name: 'Dockerfile', data: 'FROM node:20\nRUN echo compiling && echo "error: boom" >&2 && exit 3\nCMD ["node", "a.js"]\n'}],
      detail:
        /^Dockerfile line 2 \(RUN echo compiling && echo "error: boom" >&2 && exit 3\): the command returned a non-zero code \(exit code 3\)\n[^]*error: boom/,
    },
    {
      name: 'a refused instruction, before anything runs',
      files: [{name: 'Dockerfile', data: 'FROM node:20\nRUN touch ran-first\nRUN apt-get update\nCMD ["node", "a.js"]\n'}],
      detail:
        /^Dockerfile line 3 \(RUN apt-get update\): "apt-get" installs system packages[^]*remove the Dockerfile to build with buildpacks, or deploy on Google Cloud/,
    },
    {
      name: 'a COPY of a file .dockerignore excludes',
      files: [
        {name: 'Dockerfile', data: 'FROM node:20\nCOPY secret.json ./\nCMD ["node", "a.js"]\n'},
        {name: '.dockerignore', data: '*.json\n'},
        {name: 'secret.json', data: '{}'},
      ],
      detail: /^Dockerfile line 2 \(COPY secret\.json \.\/\): "secret\.json" is not in the build context: \.dockerignore excludes it$/,
    },
  ];
  for (const f of failures) {
    it(`fails ${f.name}`, async () => {
      const {done, log} = await build('broken/app.tgz', tarGz(f.files));
      assert.equal(done.status, 'FAILURE', log);
      assert.match(done.statusDetail ?? '', f.detail);
      assert.doesNotMatch(log, /Step \d+\/\d+ : RUN touch ran-first/, 'a refusal comes before any step runs');
    });
  }
});
