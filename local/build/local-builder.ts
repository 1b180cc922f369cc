/**
 * The local build: what Cloud Build plus Google's Node.js buildpacks do for a dropdeploy
 * build, done on this machine without Docker. It reads exactly the generation named in the
 * build, extracts it safely, builds it as Google's Node.js buildpacks would (buildpacks/), and
 * pushes the result to the local registry.
 */
import {existsSync, mkdirSync} from 'node:fs';
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import {create as createTar} from 'tar';
import {dirname, join} from 'node:path';
import {generationPath, readObject} from '../bucket/object-store';
import type {StoredBuild} from '../cloud-build/messages';
import type {BuildRunner} from '../cloud-build/build-runner';
import {isPlain, listField, messageField, stringField, stringList} from '../grpc/fields';
import type {PlainMessage} from '../grpc/protos';
import type {LocalRegistry} from './registry';
import type {BuildLogs} from './build-log';
import {stepEnv, SYSTEM_PATH, type NpmLocations} from './build-env';
import {BuildFailure} from './build-failure';
import {findNpm, nodeModulesAbove, npmLocations, npmVersion} from './build-host';
import {buildWithBuildpacks, type BuildpacksRun} from './buildpacks/build';
import {DependencyCache} from './buildpacks/dependency-cache';
import {planBuild} from './buildpacks/plan';
import {readSource} from './buildpacks/read-source';
import {buildDockerfile} from './dockerfile/build-dockerfile';
import {ExtractError, extractArchive, type ExtractLimits} from './extract';

/** Options of {@link createLocalBuilder}. */
export interface LocalBuilderOptions {
  /** The local bucket's object store root. */
  storeRoot: string;
  /** The one local bucket's name; builds from any other bucket fail. */
  bucket: string;
  registry: LocalRegistry;
  /**
   * Where each build gets its scratch folder `<buildId>/`, removed when it ends. It must not be
   * inside a Node.js project: npm and node would find that project's node_modules from a build.
   */
  workRoot: string;
  limits?: Partial<ExtractLimits>;
  /** Path of npm; default the `npm` next to node, else in the system folders. */
  npm?: string;
  logs: BuildLogs;
  /**
   * The dependency cache: installed node_modules kept by lockfile, package manager and Node.js
   * major, reused by a rebuild (least recently used evicted beyond `maxBytes`, default 2 GiB).
   * Without it every build installs.
   */
  dependencyCache?: {dir: string; maxBytes?: number};
}

/** A BuildRunner that can also be told a build was cancelled (the emulator's CancelBuild does not call the runner). */
export type LocalBuilder = BuildRunner & {
  /** Stops a running build's work (kills its processes); its status is left as the emulator set it. */
  cancel(buildId: string): void;
  /**
   * Extracts and plans a tiny source once, in a folder removed after: the first extraction and
   * plan of a process run cold (18–30 ms measured in the stack, against 3–7 ms after), and the
   * first drop's build should not wait for that. Never fails: it is only a warm-up.
   */
  warmUp(): Promise<void>;
};

/** Creates the runner to give the CloudBuildEmulator: each build runs asynchronously to a terminal status. */
export function createLocalBuilder(opts: LocalBuilderOptions): LocalBuilder {
  // npm puts node_modules/.bin of every folder up to / on a script's PATH, and node's require
  // climbs the same way: no allow-list can hide a project's node_modules above the build.
  const above = nodeModulesAbove(opts.workRoot);
  if (above) {
    throw new Error(
      `the local build folder "${opts.workRoot}" is inside "${above}", which has a node_modules folder: ` +
        "a build there would find that project's tools and packages instead of failing without its own; use a folder outside any Node.js project",
    );
  }
  const nodeDir = dirname(process.execPath);
  const npm = findNpm(opts.npm, [nodeDir, ...SYSTEM_PATH]);
  // Asked once, now: `npm config get` takes a few hundred ms, which the first build should not wait for.
  // Its folder is the work root, outside any Node.js project, as every build's own folder is.
  mkdirSync(opts.workRoot, {recursive: true});
  const locations = npmLocations(npm, process.env, opts.workRoot);
  const machine: Machine = {
    npm,
    nodeDir,
    npmVersion: npmVersion(npm),
    npmLocations: () => locations,
    cache: opts.dependencyCache && new DependencyCache(opts.dependencyCache.dir, opts.dependencyCache.maxBytes),
  };
  const running = new Map<string, AbortController>();
  const runner = ((stored: StoredBuild, control) => {
    const build = buildRequest(stored);
    const id = build.id;
    const abort = new AbortController();
    running.set(id, abort);
    const log = (line: string) => opts.logs.line(id, line);
    opts.logs.append(id, '');
    const seconds = timeoutSeconds(build.timeout);
    const timer = setTimeout(
      () => {
        log(`TIMEOUT: the build did not finish within ${seconds}s; stopping it`);
        abort.abort();
        control.setStatus('TIMEOUT', {failureDetail: `build timed out after ${seconds}s`});
      },
      Math.min(seconds * 1000, 2 ** 31 - 1),
    );
    void (async () => {
      try {
        control.setStatus('WORKING');
        const digest = await buildImage(build, opts, machine, log, abort.signal);
        if (abort.signal.aborted) return;
        log(`DONE: pushed ${build.image}@${digest}`);
        control.setStatus('SUCCESS', {digest});
      } catch (err) {
        if (abort.signal.aborted) return; // timed out or cancelled: that status is already set
        if (err instanceof BuildFailure) {
          log(`ERROR: ${err.reason}`);
          control.setStatus('FAILURE', {failureDetail: err.detail()});
        } else {
          log(`ERROR: the local builder failed: ${(err as Error).stack ?? String(err)}`);
          control.setStatus('INTERNAL_ERROR', {failureDetail: `the local builder failed: ${(err as Error).message}`});
        }
      } finally {
        clearTimeout(timer);
        running.delete(id);
        await rm(join(opts.workRoot, id), {recursive: true, force: true}).catch(() => undefined);
      }
    })();
    return () => abort.abort();
  }) as LocalBuilder;
  runner.cancel = (buildId) => {
    const abort = running.get(buildId);
    if (!abort) return;
    opts.logs.line(buildId, 'CANCELLED: the build was cancelled; stopping it');
    abort.abort();
  };
  runner.warmUp = async () => {
    let dir: string | undefined;
    try {
      dir = await mkdtemp(join(opts.workRoot, 'warm-up-'));
      const src = join(dir, 'source');
      await mkdir(src);
      await writeFile(
        join(src, 'package.json'),
        JSON.stringify({name: 'warm-up', scripts: {start: 'node index.js'}, engines: {node: '>=20'}}),
      );
      await writeFile(join(src, 'index.js'), '');
      await createTar({gzip: true, file: join(dir, 'source.tar.gz'), cwd: src}, ['.']);
      const out = await extractArchive(join(dir, 'source.tar.gz'), 'warm-up/source.tar.gz', join(dir, 'src'), opts.limits);
      planBuild({
        ...readSource(out.root),
        stepEnv: [],
        hostNode: process.version,
        hostNpm: machine.npmVersion,
        pnpmStore: join(dir, 'pnpm'),
      });
    } catch {
      // Only a warm-up: a real build meets (and reports) whatever failed here.
    } finally {
      if (dir) await rm(dir, {recursive: true, force: true});
    }
  };
  return runner;
}

/** What every build takes from this machine, found once per builder. */
interface Machine {
  npm: string;
  nodeDir: string;
  npmVersion: string | undefined;
  npmLocations(): Promise<NpmLocations>;
  cache: DependencyCache | undefined;
}

/** What the local build reads from a build, checked field by field: the emulator hands the request over as plain, untyped data. */
interface BuildRequest {
  id: string;
  /** The first of `images`, the one pushed. */
  image: string | undefined;
  source: {bucket: string | undefined; object: string; generation: string};
  /** The first step's env ("K=V" strings). */
  stepEnv: string[] | undefined;
  timeout: unknown;
}

function buildRequest(build: PlainMessage): BuildRequest {
  const src = messageField(messageField(build, 'source') ?? {}, 'storageSource') ?? {};
  const step = listField(build, 'steps')[0];
  const generation = src.generation;
  return {
    id: stringField(build, 'id'),
    image: stringList(build, 'images')[0],
    source: {
      bucket: typeof src.bucket === 'string' ? src.bucket : undefined,
      object: stringField(src, 'object'),
      generation: typeof generation === 'string' || typeof generation === 'number' ? String(generation) : '',
    },
    stepEnv: isPlain(step) && Array.isArray(step.env) ? stringList(step, 'env') : undefined,
    timeout: build.timeout,
  };
}

async function buildImage(
  build: BuildRequest,
  opts: LocalBuilderOptions,
  machine: Machine,
  log: (line: string) => void,
  signal: AbortSignal,
): Promise<string> {
  const src = build.source;
  const url = `gs://${src.bucket}/${src.object}#${src.generation}`;
  const image = build.image;
  if (!image) throw new BuildFailure('the build names no image to push (images is empty)');
  log(`Fetching source ${url}`);
  if (src.bucket !== opts.bucket) {
    throw new BuildFailure(`the source ${url} is in bucket "${src.bucket}", but the local stack only has the bucket "${opts.bucket}"`);
  }
  if (!readObject(opts.storeRoot, src.object, src.generation)) {
    throw new BuildFailure(`the source ${url} does not exist: generation ${src.generation} of "${src.object}" is not in the local bucket`);
  }
  const dir = join(opts.workRoot, build.id);
  await rm(dir, {recursive: true, force: true});
  await mkdir(dir, {recursive: true});
  let root: string;
  try {
    const out = await extractArchive(generationPath(opts.storeRoot, src.object, src.generation), src.object, join(dir, 'src'), opts.limits);
    const inner = out.root === join(dir, 'src') ? '' : `; building its top-level folder "${out.root.slice(dir.length + 5)}"`;
    log(`Extracted ${out.entries} entries (${out.bytes} bytes)${inner}`);
    root = out.root;
  } catch (err) {
    if (err instanceof ExtractError) throw new BuildFailure(`the source archive was refused: ${err.message}`);
    throw err;
  }
  if (existsSync(join(root, 'Dockerfile'))) {
    const output = (text: string) => opts.logs.append(build.id, text);
    const npm = await machine.npmLocations();
    const docker = await buildDockerfile({root, dir, nodeDir: machine.nodeDir, npm, host: process.env, log, output, signal});
    if (signal.aborted) throw new Error('aborted');
    return opts.registry.push(image, docker.rootfs, docker.config);
  }
  const config = await buildWithBuildpacks(await buildpacksRun(build, opts, machine, dir, root, log, signal));
  if (signal.aborted) throw new Error('aborted');
  return opts.registry.push(image, root, config);
}

/** What the buildpacks build of `root` gets: its own HOME and TMPDIR in `dir`, the allow-listed env, the machine's npm. */
async function buildpacksRun(
  build: BuildRequest,
  opts: LocalBuilderOptions,
  machine: Machine,
  dir: string,
  root: string,
  log: (line: string) => void,
  signal: AbortSignal,
): Promise<BuildpacksRun> {
  const [home, tmp] = [join(dir, 'home'), join(dir, 'tmp')];
  await Promise.all([mkdir(home), mkdir(tmp)]);
  const npmAt = await machine.npmLocations();
  if (!npmAt.userconfig) log(`WARNING: ${machine.npm} did not say where its config is; npm runs with its defaults`);
  return {
    root,
    dir,
    stepEnv: build.stepEnv ?? [],
    npm: machine.npm,
    hostNode: process.version,
    hostNpm: machine.npmVersion,
    envFor: (buildEnv) =>
      stepEnv({host: process.env, sourceRoot: root, home, tmp, nodeDir: machine.nodeDir, npm: npmAt, stepEnv: buildEnv}),
    cache: machine.cache,
    log,
    output: (text) => opts.logs.append(build.id, text),
    signal,
  };
}

/** The build's timeout in seconds: a Duration (`{seconds}`) or its JSON form (`"600s"`); 600 if unset. */
function timeoutSeconds(timeout: unknown): number {
  const raw = typeof timeout === 'string' ? parseFloat(timeout) : Number((timeout as {seconds?: unknown} | undefined)?.seconds ?? NaN);
  return Number.isFinite(raw) && raw > 0 ? raw : 600;
}
