/**
 * The real-world fixture apps (test/fixtures/apps/) built by the local builder as Google's
 * buildpacks build them, each image run and probed; and the dependency cache across rebuilds.
 */
import {after, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {generationPath, objectDir} from '../../../../local/bucket/object-store';
import {BuildLogs} from '../../../../local/build/build-log';
import {createLocalBuilder} from '../../../../local/build/local-builder';
import {LocalRegistry} from '../../../../local/build/registry';
import type {StoredBuild} from '../../../../local/cloud-build/messages';
import {packFolder} from '../../../../local/drop';
import {freePort} from '../../../../local/ports';
import {REPO_ROOT} from '../../../../local/repo-root';

const BUCKET = 'dd-sources';
const base = mkdtempSync(join(tmpdir(), 'dd-bp-'));
const storeRoot = join(base, 'store');
const workRoot = join(base, 'work');
const cacheDir = join(base, 'build-cache');
const registry = new LocalRegistry(join(base, 'registry'));
const logs = new BuildLogs();
const builder = createLocalBuilder({storeRoot, bucket: BUCKET, registry, workRoot, logs, dependencyCache: {dir: cacheDir}});
let n = 0;

interface Built {
  status: string;
  detail: string;
  log: string;
  image: string;
}

/** Builds the fixture app `name` as the Cloud Build emulator would hand it to the builder. */
function buildFixture(name: string, stepEnv: string[] = [], by = builder): Promise<Built> {
  const id = `build-${++n}`;
  const object = `${name}/app.tgz`;
  const generation = String(1000 + n);
  const bytes = readFileSync(packFolder(join(REPO_ROOT, 'test', 'fixtures', 'apps', name)));
  mkdirSync(objectDir(storeRoot, object), {recursive: true});
  writeFileSync(generationPath(storeRoot, object, generation), bytes);
  writeFileSync(`${generationPath(storeRoot, object, generation)}.json`, JSON.stringify({bucket: BUCKET, name: object, generation}));
  const image = `local/${name}:${n}`;
  const request = {
    id,
    images: [image],
    source: {storageSource: {bucket: BUCKET, object, generation}},
    steps: [{env: stepEnv}],
    timeout: {seconds: 300},
  };
  return new Promise((done) => {
    by(request as unknown as StoredBuild, {
      setStatus: (status, opts) => {
        if (status === 'WORKING') return;
        done({status, detail: opts?.failureDetail ?? '', log: logs.get(id) ?? '', image});
      },
    });
  });
}

/** Runs the image and returns what GET `path` answers. */
async function probe(image: string, path = '/'): Promise<string> {
  const img = registry.resolve(image)!;
  const port = await freePort();
  const [cmd, ...args] = img.config.entrypoint;
  const child = spawn(cmd, args, {
    cwd: join(img.rootfs, img.config.workingDir ?? ''),
    env: {PATH: process.env.PATH, ...img.config.env, PORT: String(port)},
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    for (let i = 0; i < 200 && child.exitCode === null; i++) {
      const body = await fetch(`http://127.0.0.1:${port}${path}`).then(
        (r) => r.text(),
        () => undefined,
      );
      if (body !== undefined) return body.trim();
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`the image did not answer (exit ${child.exitCode}): ${stderr}`);
  } finally {
    child.kill('SIGKILL');
  }
}

const ok = (b: Built) => assert.equal(b.status, 'SUCCESS', `${b.detail}\n${b.log}`);

describe('fixture apps built as the buildpacks build them', {timeout: 600_000}, () => {
  after(() => rmSync(base, {recursive: true, force: true}));

  it('pnpm-app: pnpm at its packageManager version, its store in the build folder, then served', async () => {
    const b = await buildFixture('pnpm-app');
    ok(b);
    assert.match(b.log, /^Using package manager: pnpm 9\.15\.9 \(pnpm-lock\.yaml; version from packageManager in package\.json\)$/m);
    assert.match(b.log, /^Running: pnpm install --store-dir=/m);
    assert.match(b.log, /^Caching dependencies \(key [0-9a-f]{16}\)$/m);
    const modules = readFileSync(join(registry.resolve(b.image)!.rootfs, 'node_modules', '.modules.yaml'), 'utf8');
    const storeDir = /storeDir: (.+)/.exec(modules)?.[1] ?? '';
    assert.ok(storeDir.startsWith(workRoot), `the pnpm store is in the build's own folder, not a home folder: ${storeDir}`);
    assert.match(b.log, /^built with a devDependency$/m);
    assert.match(b.log, /^Running: pnpm prune --prod /m);
    assert.ok(!existsSync(join(registry.resolve(b.image)!.rootfs, 'node_modules', 'is-number')), 'the devDependency was pruned');
    assert.equal(await probe(b.image), 'pnpm-app: one minute is 1m');
  });

  it('pnpm-app again: its install comes from the cache, the build and the prune still run', async () => {
    const b = await buildFixture('pnpm-app');
    ok(b);
    assert.match(b.log, /^Reusing cached dependencies/m);
    assert.doesNotMatch(b.log, /^Running: pnpm install/m);
    assert.match(b.log, /^built with a devDependency$/m);
    assert.ok(!existsSync(join(registry.resolve(b.image)!.rootfs, 'node_modules', 'is-number')), 'the devDependency was pruned');
    assert.equal(await probe(b.image), 'pnpm-app: one minute is 1m');
  });

  it('yarn-classic-app: Yarn 1 from the npm registry, frozen lockfile', async () => {
    const b = await buildFixture('yarn-classic-app');
    ok(b);
    assert.match(b.log, /^Using package manager: yarn latest \(yarn\.lock has no __metadata block: Yarn classic; /m);
    assert.match(b.log, /^Running: yarn install --non-interactive --prefer-offline --frozen-lockfile$/m);
    assert.equal(await probe(b.image), 'yarn-classic-app: one minute is 1m');
  });

  it('yarn-berry-app: Yarn 4 (@yarnpkg/cli-dist) with the node-modules linker, immutable install', async () => {
    const b = await buildFixture('yarn-berry-app');
    ok(b);
    assert.match(
      b.log,
      /^Using package manager: yarn 4\.9\.2 \(yarn\.lock has a __metadata block: Yarn 2 or later; version from packageManager/m,
    );
    assert.match(b.log, /^Running: yarn install --immutable$/m);
    assert.equal(await probe(b.image), 'yarn-berry-app: one minute is 1m');
  });

  it("ts-gcp-build: gcp-build runs the source's own TypeScript 5.4, whose devDependencies are then pruned", async () => {
    const b = await buildFixture('ts-gcp-build');
    ok(b);
    assert.match(b.log, /^Installing with NODE_ENV=development: the build scripts get the devDependencies$/m);
    assert.match(b.log, /^Version 5\.4\.5$/m, "tsc --version printed the source's own TypeScript");
    assert.match(b.log, /^Running: npm prune --omit=dev/m);
    const rootfs = registry.resolve(b.image)!.rootfs;
    assert.ok(!existsSync(join(rootfs, 'node_modules', 'typescript')), 'typescript was pruned from the image');
    assert.equal(await probe(b.image), 'ts-gcp-build: compiled by its own tsc');
  });

  it('a rebuild with the same lockfile reuses the cached install, and its build still runs', async () => {
    const b = await buildFixture('ts-gcp-build');
    ok(b);
    assert.match(b.log, /^Reusing cached dependencies \(key [0-9a-f]{16}\)$/m);
    assert.doesNotMatch(b.log, /^Running: npm ci/m);
    assert.match(b.log, /^Version 5\.4\.5$/m);
    assert.equal(await probe(b.image), 'ts-gcp-build: compiled by its own tsc');
  });

  it('function-no-package: the Functions Framework added, the target from project.toml', async () => {
    const b = await buildFixture('function-no-package');
    ok(b);
    assert.match(b.log, /^Build env from project\.toml: applied GOOGLE_FUNCTION_TARGET$/m);
    assert.match(b.log, /^Node\.js function "greet" \(http; target from project\.toml\)$/m);
    assert.match(b.log, /^Adding @google-cloud\/functions-framework@\^5\.0\.0 in \.layers\/functions-framework$/m);
    assert.equal(await probe(b.image, '/?name=fixture'), 'Hello, fixture! (a function without package.json)');
    const again = await buildFixture('function-no-package');
    ok(again);
    assert.match(again.log, /^Reusing cached dependencies/m, 'the added Functions Framework comes from the cache the second time');
  });

  it('the upload metadata names the target over project.toml', async () => {
    const b = await buildFixture('function-no-package', ['GOOGLE_FUNCTION_TARGET=missing', 'GOOGLE_FUNCTION_SIGNATURE_TYPE=http']);
    ok(b);
    assert.match(b.log, /^Build env from project\.toml: GOOGLE_FUNCTION_TARGET overridden by the upload metadata$/m);
    assert.match(registry.resolve(b.image)!.config.entrypoint.join(' '), /--target=missing/);
  });

  it('two concurrent builds with the same key both install, one cache entry is kept, and the next build reuses it', async () => {
    const fresh = join(base, 'fresh-cache');
    const other = createLocalBuilder({storeRoot, bucket: BUCKET, registry, workRoot, logs, dependencyCache: {dir: fresh}});
    const [a, b] = await Promise.all([buildFixture('yarn-classic-app', [], other), buildFixture('yarn-classic-app', [], other)]);
    ok(a);
    ok(b);
    for (const x of [a, b]) assert.match(x.log, /^Caching dependencies/m);
    assert.equal(readdirSync(join(fresh, 'entries')).length, 1);
    assert.deepEqual(readdirSync(join(fresh, 'tmp')), [], 'the losing copy was removed');
    const c = await buildFixture('yarn-classic-app', [], other);
    ok(c);
    assert.match(c.log, /^Reusing cached dependencies/m);
    for (const x of [a, b, c]) assert.equal(await probe(x.image), 'yarn-classic-app: one minute is 1m');
  });
});
