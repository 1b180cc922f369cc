import {after, before, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {execFileSync, spawn} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {CloudBuildClient} from '@google-cloud/cloudbuild';
import {CloudBuildEmulator, type BuildJson} from '../../../local/cloud-build/emulator';
import {isTerminalBuildStatus} from '../../../src/releases/build-statuses';
import {generationPath, objectDir} from '../../../local/bucket/object-store';
import {BuildLogs} from '../../../local/build/build-log';
import {createLocalBuilder} from '../../../local/build/local-builder';
import {startLogServer, type LogServer} from '../../../local/build/log-server';
import {clientOptions} from '../../../local/grpc/client-options';
import {REPO_ROOT} from '../../../local/repo-root';
import {freePort} from '../../../local/ports';
import {LocalRegistry, type ImageConfig} from '../../../local/build/registry';
import {buildSpec} from '../../../src/releases/build-request';
import type {Source} from '../../../src/releases/release';
import {asClientBuild, operationBuildId} from '../cloud-build/cloud-build-client';
import {tarGz, zip, type TarEntry} from './fixtures-archives';

process.env.METADATA_SERVER_DETECTION ??= 'none';

// The builder runs inside `npm start` / `npm test`: npm's own variables, dropdeploy's
// node_modules/.bin first on PATH, and whatever credentials the developer's shell holds.
// None of it may reach a build step (the emulator hosts come from the test harness).
const LEAKED = {
  GOOGLE_APPLICATION_CREDENTIALS: '/secret/key.json',
  CLOUDSDK_CONFIG: '/secret/gcloud',
  CLOUDSDK_AUTH_ACCESS_TOKEN: 'ya29.secret',
  AWS_ACCESS_KEY_ID: 'AKIASECRET',
  AWS_SECRET_ACCESS_KEY: 'aws-secret',
  GITHUB_TOKEN: 'ghp_secret',
  NPM_TOKEN: 'npm-secret',
  NODE_AUTH_TOKEN: 'npm-secret-2',
  DROPDEPLOY_PROJECT: 'leaked',
  NODE_OPTIONS: '--max-http-header-size=16385',
  NODE_PATH: join(REPO_ROOT, 'node_modules'),
  INIT_CWD: REPO_ROOT,
  npm_lifecycle_event: 'test',
  npm_package_name: 'dropdeploy',
  npm_package_json: join(REPO_ROOT, 'package.json'),
  npm_config_local_prefix: REPO_ROOT,
  npm_command: 'test',
};
Object.assign(process.env, LEAKED);
process.env.PUBSUB_EMULATOR_HOST ??= '127.0.0.1:8085';
process.env.FIRESTORE_EMULATOR_HOST ??= '127.0.0.1:8080';
process.env.PATH = [join(REPO_ROOT, 'node_modules', '.bin'), '/injected/by/npm/node_modules/.bin', process.env.PATH].join(':');

const PROJECT = 'demo-project';
const BUCKET = 'dd-sources';
const base = mkdtempSync(join(tmpdir(), 'dd-builder-'));
const storeRoot = join(base, 'store');
const registry = new LocalRegistry(join(base, 'registry'));
const logs = new BuildLogs();
const builder = createLocalBuilder({storeRoot, bucket: BUCKET, registry, workRoot: join(base, 'work'), logs});
const statuses: BuildJson[] = [];
let emu: CloudBuildEmulator;
let client: CloudBuildClient;
let logServer: LogServer;
let generation = 1000;

/** Stores `bytes` as a new generation of `object`, as the local bucket does. */
function putObject(object: string, bytes: Buffer): string {
  const gen = String(++generation);
  mkdirSync(objectDir(storeRoot, object), {recursive: true});
  writeFileSync(generationPath(storeRoot, object, gen), bytes);
  const now = new Date().toISOString();
  writeFileSync(
    `${generationPath(storeRoot, object, gen)}.json`,
    JSON.stringify({
      bucket: BUCKET,
      name: object,
      generation: gen,
      metageneration: '1',
      size: String(bytes.length),
      md5Hash: '',
      crc32c: '',
      contentType: 'application/gzip',
      timeCreated: now,
      updated: now,
    }),
  );
  return gen;
}

/** Uploads an archive and starts the build the controller would request for it; resolves with the terminal Build. */
async function build(object: string, bytes: Buffer, extra: Partial<Source> = {}, timeoutSeconds = 120) {
  const source: Source = {bucket: BUCKET, object, generation: putObject(object, bytes), ...extra};
  const service = object.split('/')[0];
  // With the build cache, as the controller asks by default: the local build reads the same
  // fields (images, source, the first step's env) from the cached request's three steps.
  const spec = buildSpec(
    {projectId: PROJECT, region: 'europe-west1', repository: 'dd', firestore: {root: 'dropdeploy'}, build: {timeoutSeconds, cache: true}},
    {service, release: 1},
    source,
  );
  const [op] = await client.createBuild({projectId: PROJECT, build: asClientBuild(spec)});
  const id = operationBuildId(op);
  return {id, image: spec.images[0], done: () => waitFor(id, isTerminalBuildStatus)};
}

async function waitFor(id: string, ok: (status: string) => boolean) {
  for (;;) {
    const [b] = await client.getBuild({projectId: PROJECT, id});
    if (ok(String(b.status))) return b;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const pkgJson = (extra: object = {}) => ({name: 'app', version: '1.0.0', private: true, ...extra});
const app = (dir: string, files: TarEntry[]): TarEntry[] => [
  {name: `${dir}/`, type: '5'},
  ...files.map((f) => ({...f, name: `${dir}/${f.name}`})),
];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('local builder through the Cloud Build emulator and the official client', () => {
  before(async () => {
    logServer = await startLogServer(logs);
    emu = new CloudBuildEmulator({
      runner: builder,
      logBaseUrl: logServer.url,
      onStatus: (b) => {
        statuses.push(b);
        // The composition root's wiring: CancelBuild only changes the status; the builder stops the work.
        if (b.status === 'CANCELLED') builder.cancel(b.id);
      },
    });
    client = new CloudBuildClient(clientOptions(await emu.start()));
  });
  after(async () => {
    await client.close();
    await emu.stop();
    await logServer.close();
    rmSync(base, {recursive: true, force: true});
  });

  it('builds an app (wrapped in its folder) into an image that serves on PORT', async () => {
    const server = "require('http').createServer((q, s) => s.end('hello ' + process.env.NODE_ENV)).listen(process.env.PORT);\n";
    const b = await build(
      'hello/app.tgz',
      tarGz(
        app('app', [
          {name: 'package.json', data: JSON.stringify(pkgJson({scripts: {start: 'node server.js'}}))},
          {name: 'server.js', data: server},
        ]),
      ),
    );
    const done = await b.done();
    assert.equal(done.status, 'SUCCESS', done.statusDetail ?? '');
    assert.deepEqual(
      statuses.filter((s) => s.id === b.id).map((s) => s.status),
      ['QUEUED', 'WORKING', 'SUCCESS'],
    );
    const image = registry.resolve(b.image)!;
    const config: ImageConfig = image.config;
    assert.equal(done.results!.images![0].digest, image.digest);
    assert.deepEqual(image.config, {entrypoint: ['node', 'server.js'], env: {NODE_ENV: 'production'}});
    assert.equal(done.logUrl, `${logServer.url}/builds/${b.id}`);
    const log = await (await fetch(done.logUrl)).text();
    assert.match(log, /Running: npm install --quiet --no-fund --no-audit\n/);
    assert.match(log, /up to date|added 0 packages/);
    assert.equal((await fetch(`${logServer.url}/builds/nope`)).status, 404);
    assert.ok(!existsSync(join(base, 'work', b.id)), 'the scratch folder is removed');

    // A port the OS says is free (a random one could be taken, and the app would just exit).
    const port = await freePort();
    const [cmd, ...args] = config.entrypoint;
    const child = spawn(cmd, args, {
      cwd: join(image.rootfs, config.workingDir ?? ''),
      env: {...process.env, ...config.env, PORT: String(port)},
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    try {
      let body = '';
      for (let i = 0; i < 200 && !body && child.exitCode === null; i++) {
        body = await fetch(`http://127.0.0.1:${port}/`).then(
          (r) => r.text(),
          () => '',
        );
        if (!body) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(child.exitCode, null, `the image's app exited with ${child.exitCode}: ${stderr}`);
      assert.equal(body, 'hello production');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('fails a source without package.json that is not a function', async () => {
    const done = await (await build('bare/app.zip', zip([{name: 'index.js', data: 'console.log(1)'}]))).done();
    assert.equal(done.status, 'FAILURE');
    assert.match(done.statusDetail!, /this source has no package\.json and names no function target: add a package\.json/);
  });

  it('adds the Functions Framework to a function source that does not depend on it, as the buildpack does', async () => {
    const b = await build(
      'fn/app.tgz',
      tarGz([
        {name: 'package.json', data: JSON.stringify(pkgJson())},
        {name: 'index.js', data: 'exports.hello = (req, res) => res.send("hi");\n'},
      ]),
      {functionTarget: 'hello', signatureType: 'http'},
    );
    const done = await b.done();
    assert.equal(done.status, 'SUCCESS', done.statusDetail ?? '');
    assert.match(logs.get(b.id)!, /Handling functions without dependency on functions-framework: adding it/);
    assert.equal(
      registry.resolve(b.image)!.config.entrypoint[1],
      '.layers/functions-framework/node_modules/@google-cloud/functions-framework/build/src/main.js',
    );
  });

  it('fails an unsafe archive, naming the entry, and a generation that does not exist', async () => {
    const evil = await (
      await build(
        'evil/app.zip',
        zip([
          {name: 'package.json', data: '{}'},
          {name: '../evil', data: 'x'},
        ]),
      )
    ).done();
    assert.equal(evil.status, 'FAILURE');
    assert.match(evil.statusDetail!, /^the source archive was refused: entry "\.\.\/evil" points outside the archive root/);
    assert.ok(!existsSync(join(base, 'work', 'evil')) && !existsSync(join(base, 'evil')));

    const spec = buildSpec(
      {projectId: PROJECT, region: 'europe-west1', repository: 'dd', firestore: {root: 'dropdeploy'}, build: {timeoutSeconds: 60}},
      {service: 'ghost', release: 1},
      {bucket: BUCKET, object: 'ghost/app.tgz', generation: '999999'},
    );
    const [op] = await client.createBuild({projectId: PROJECT, build: asClientBuild(spec)});
    const ghost = await waitFor(operationBuildId(op), isTerminalBuildStatus);
    assert.equal(ghost.status, 'FAILURE');
    assert.match(ghost.statusDetail!, /gs:\/\/dd-sources\/ghost\/app\.tgz#999999 does not exist/);
  });

  it('fails with the tail of npm output when gcp-build fails', async () => {
    const done = await (
      await build(
        'broken/app.tgz',
        tarGz([
          {
            name: 'package.json',
            data: JSON.stringify(pkgJson({scripts: {'gcp-build': 'echo compiling; echo "error TS2322: boom" >&2; exit 3'}})),
          },
          {name: 'index.js', data: ''},
        ]),
      )
    ).done();
    assert.equal(done.status, 'FAILURE');
    assert.match(done.statusDetail!, /^npm run gcp-build failed \(exit code 3\)\n[^]*error TS2322: boom/);
  });

  it('fails an archive with an over-long name as a FAILURE, naming the entry and the limit', async () => {
    const done = await (
      await build(
        'longname/app.zip',
        zip([
          {name: 'package.json', data: '{}'},
          {name: 'n'.repeat(300), data: 'x'},
        ]),
      )
    ).done();
    assert.equal(done.status, 'FAILURE', done.statusDetail ?? '');
    assert.match(
      done.statusDetail!,
      /^the source archive was refused: entry "n{300}" has a file or folder name of 300 bytes; names may be at most 255 bytes/,
    );
  });

  it('runs build steps with a minimal environment: no credentials, no npm or dropdeploy variables, its own HOME and PATH', async () => {
    const b = await build(
      'envcheck/app.tgz',
      tarGz([
        {
          name: 'package.json',
          data: JSON.stringify(
            pkgJson({
              // A local stand-in for the Functions Framework, so the function builds without the network.
              dependencies: {'@google-cloud/functions-framework': 'file:./vendor/ff'},
              scripts: {'gcp-build': `node -e "console.log('ENV=' + JSON.stringify(process.env))"`},
            }),
          ),
        },
        {
          name: 'vendor/ff/package.json',
          data: JSON.stringify({name: '@google-cloud/functions-framework', version: '0.0.0', bin: {'functions-framework': 'main.js'}}),
        },
        {name: 'vendor/ff/main.js', data: ''},
        {name: 'index.js', data: 'exports.hello = (req, res) => res.send("hi");\n'},
      ]),
      {functionTarget: 'hello', signatureType: 'http'},
    );
    const done = await b.done();
    assert.equal(done.status, 'SUCCESS', done.statusDetail ?? '');
    const line = logs
      .get(b.id)!
      .split('\n')
      .find((l) => l.startsWith('ENV='));
    assert.ok(line, 'the gcp-build step printed its environment');
    const env = JSON.parse(line.slice('ENV='.length)) as Record<string, string>;
    const scratch = join(base, 'work', b.id);

    for (const k of [...Object.keys(LEAKED), 'PUBSUB_EMULATOR_HOST', 'FIRESTORE_EMULATOR_HOST', 'METADATA_SERVER_DETECTION']) {
      // npm sets some of these names itself for the script it runs; then they must describe the source, not us.
      if (!/^(INIT_CWD|npm_)/.test(k)) assert.equal(env[k], undefined, `${k} reached the build step`);
    }
    for (const [k, v] of Object.entries(env)) {
      assert.ok(!v.includes(REPO_ROOT) && !v.includes('/injected/by/npm'), `${k}=${v} comes from dropdeploy's own process`);
    }
    assert.equal(env.npm_lifecycle_event, 'gcp-build');
    assert.equal(env.npm_package_name, 'app');
    assert.ok(env.INIT_CWD.startsWith(scratch), `INIT_CWD=${env.INIT_CWD}`);
    assert.ok(env.HOME.startsWith(scratch), `HOME=${env.HOME}`);
    assert.equal(env.GOOGLE_FUNCTION_TARGET, 'hello');
    assert.equal(env.GOOGLE_FUNCTION_SIGNATURE_TYPE, 'http');
    // npm installs through this machine's own npm config and cache, as it would outside the build.
    const machine = (key: string) => execFileSync('npm', ['config', 'get', key], {cwd: base, encoding: 'utf8'}).trim();
    assert.equal(env.npm_config_cache, machine('cache'));
    assert.equal(env.npm_config_userconfig, machine('userconfig'));

    // npm puts each folder's node_modules/.bin from the source up to / first (the source's own, then
    // nothing: the scratch folder has no Node.js project above it), then its node-gyp shim, then ours.
    const path = env.PATH.split(':');
    assert.equal(path[0], join(scratch, 'src', 'node_modules', '.bin'));
    const rest = path.filter((p) => !p.startsWith(scratch) && !p.endsWith('/node_modules/.bin') && !p.endsWith('/node-gyp-bin'));
    assert.deepEqual(rest, [...new Set([dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'])]);
    for (const p of path.filter((x) => x.endsWith('/node_modules/.bin')))
      assert.ok(!existsSync(p) || p.startsWith(scratch), `${p} is on the build's PATH`);
  });

  it("runs the source's own tsc for a gcp-build that calls tsc", async () => {
    const b = await build(
      'owntsc/app.tgz',
      tarGz([
        {
          name: 'package.json',
          data: JSON.stringify(
            pkgJson({devDependencies: {typescript: 'file:./vendor/typescript'}, scripts: {'gcp-build': 'tsc --version'}}),
          ),
        },
        {name: 'vendor/typescript/package.json', data: JSON.stringify({name: 'typescript', version: '0.0.0-own', bin: {tsc: 'bin/tsc'}})},
        {name: 'vendor/typescript/bin/tsc', data: '#!/usr/bin/env node\nconsole.log("the source\'s own tsc");\n', mode: 0o755},
        {name: 'index.js', data: ''},
      ]),
    );
    const done = await b.done();
    assert.equal(done.status, 'SUCCESS', done.statusDetail ?? '');
    assert.match(logs.get(b.id)!, /the source's own tsc/);
    assert.doesNotMatch(logs.get(b.id)!, /Version \d/, "dropdeploy's own tsc ran");
  });

  it('fails a gcp-build that calls tsc without typescript in its dependencies, saying what to add', async () => {
    const done = await (
      await build(
        'notsc/app.tgz',
        tarGz([
          {name: 'package.json', data: JSON.stringify(pkgJson({scripts: {'gcp-build': 'tsc --version'}}))},
          {name: 'index.js', data: ''},
        ]),
      )
    ).done();
    assert.equal(done.status, 'FAILURE', `dropdeploy's own tsc ran: ${done.statusDetail ?? ''}`);
    assert.match(
      done.statusDetail!,
      /^npm run gcp-build failed \(exit code 127\): the command "tsc" was not found\. Build tools come from the source's own dependencies: add "typescript" to devDependencies in package\.json/,
    );
  });

  it('warms up (extracts and plans a tiny source) without leaving anything in its work folder', async () => {
    const workRoot = mkdtempSync(join(tmpdir(), 'dd-warm-work-'));
    const warm = createLocalBuilder({storeRoot, bucket: BUCKET, registry, workRoot, logs});
    const before = readdirSync(workRoot);
    await warm.warmUp();
    assert.deepEqual(readdirSync(workRoot), before);
    // A work folder that is gone: the warm-up fails quietly, and builds report it themselves.
    rmSync(workRoot, {recursive: true, force: true});
    await warm.warmUp();
  });

  it('refuses a work folder inside a Node.js project, whose node_modules npm and node would use', () => {
    const workRoot = join(REPO_ROOT, '.dropdeploy', 'build-work');
    assert.throws(
      () => createLocalBuilder({storeRoot, bucket: BUCKET, registry, workRoot, logs}),
      new RegExp(`the local build folder "${escape(workRoot)}" is inside "${escape(REPO_ROOT)}", which has a node_modules folder`),
    );
  });

  for (const how of ['TIMEOUT', 'CANCELLED'] as const) {
    it(`${how === 'TIMEOUT' ? 'times out' : 'cancels'} a build and kills its processes`, async () => {
      const pidFile = join(base, `${how}.pid`);
      const script = `node -e "require('fs').writeFileSync('${pidFile}', String(process.pid)); setInterval(() => {}, 1000)"`;
      const b = await build(
        `slow-${how.toLowerCase()}/app.tgz`,
        tarGz([
          {name: 'package.json', data: JSON.stringify(pkgJson({scripts: {'gcp-build': script}}))},
          {name: 'index.js', data: ''},
        ]),
        {},
        // Long enough for the install before the script to finish on a busy machine.
        how === 'TIMEOUT' ? 15 : 120,
      );
      let ended = false;
      const ending = b.done().finally(() => (ended = true));
      while (!existsSync(pidFile) || !readFileSync(pidFile, 'utf8')) {
        // A build that ended before its script ran would leave this loop waiting forever.
        if (ended) assert.fail(`the build ended (${(await ending).status}) before its gcp-build script started:\n${logs.get(b.id) ?? ''}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const pid = Number(readFileSync(pidFile, 'utf8'));
      assert.ok(alive(pid));
      if (how === 'CANCELLED') await client.cancelBuild({projectId: PROJECT, id: b.id});
      const done = await ending;
      assert.equal(done.status, how);
      for (let i = 0; i < 40 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(!alive(pid), 'the gcp-build process was killed');
      assert.match(logs.get(b.id)!, new RegExp(`${how}: `));
    });
  }
});
