/**
 * A source with a Dockerfile, built without a Docker daemon: read and plan the Dockerfile,
 * refuse what cannot be done faithfully here (with the instruction, its line and what to do),
 * carry the plan out in the build's own folder, and say how the image runs.
 */
import {mkdirSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {stepEnv, SYSTEM_PATH, type NpmLocations} from '../build-env';
import {BuildFailure} from '../build-failure';
import type {ImageConfig} from '../registry';
import {buildContext} from './build-context';
import {rootfsRelative} from './container-paths';
import {executePlan} from './executor';
import {parseDockerfile} from './parse';
import type {PlannedImage, Refusal} from './plan-types';
import {planDockerfile} from './planner';

/** What {@link buildDockerfile} needs from the local builder. */
export interface DockerfileBuild {
  /** The extracted source: the build context, with the Dockerfile at its root. */
  root: string;
  /** The build's scratch folder (removed when the build ends). */
  dir: string;
  /** The folder of the node binary standing in for the base image's. */
  nodeDir: string;
  npm: NpmLocations;
  /** The environment dropdeploy runs in; only build-env's allow-list is read. */
  host: NodeJS.ProcessEnv;
  log: (line: string) => void;
  output: (text: string) => void;
  signal: AbortSignal;
}

/** The failure message of a refused Dockerfile: where, what, why, and what to do. */
export function refusalMessage(r: Refusal): string {
  const where = r.line === undefined ? 'Dockerfile' : `Dockerfile line ${r.line}`;
  const what = r.instruction ? ` (${r.instruction})` : '';
  return `${where}${what}: ${r.reason}; ${r.todo}`;
}

/** Builds the source's Dockerfile; resolves with the image's folder and config for the registry. */
export async function buildDockerfile(b: DockerfileBuild): Promise<{rootfs: string; config: ImageConfig}> {
  const text = readFileSync(join(b.root, 'Dockerfile'), 'utf8');
  const res = planDockerfile({
    dockerfile: parseDockerfile(text),
    buildArgs: {},
    hostNode: process.versions.node,
    platform: {os: 'linux', arch: process.arch === 'x64' ? 'amd64' : process.arch},
  });
  b.log('Building with the Dockerfile, on this machine (no Docker daemon: each instruction is carried out on the host)');
  if (!res.ok) throw new BuildFailure(refusalMessage(res.refusal));
  const {tree, patterns} = buildContext(b.root);
  b.log(`Build context: ${tree.entries.size - 1} entries${patterns ? ` (.dockerignore: ${patterns} rules)` : ''}`);
  const [home, tmp] = [join(b.dir, 'home'), join(b.dir, 'tmp')];
  mkdirSync(home, {recursive: true});
  mkdirSync(tmp, {recursive: true});
  const buildEnv = stepEnv({host: b.host, sourceRoot: b.root, home, tmp, nodeDir: b.nodeDir, npm: b.npm});
  // A container's PATH has no node_modules/.bin: a RUN finds what the image has, here node, npm and the system's.
  buildEnv.PATH = [...new Set([b.nodeDir, ...SYSTEM_PATH])].join(':');
  const rootfs = await executePlan({
    plan: res.plan,
    context: tree,
    work: join(b.dir, 'stages'),
    buildEnv,
    log: b.log,
    output: b.output,
    signal: b.signal,
  });
  const config = imageConfig(res.plan.image);
  b.log(`Entrypoint: ${JSON.stringify(config.entrypoint)}, Cmd: ${JSON.stringify(config.cmd ?? [])}, in ${res.plan.image.workdir}`);
  if (config.user) b.log(`The image's USER is ${config.user}; the local run cannot switch users and runs it as you`);
  return {rootfs, config};
}

/**
 * The registry config of the planned image: ENTRYPOINT and CMD apart, as an image keeps them, so
 * a service's `command` and `args` replace each as on Cloud Run. The node image's entrypoint
 * rule is carried out when the container starts (local/cloud-run/container-launch.ts).
 */
function imageConfig(image: PlannedImage): ImageConfig {
  const config: ImageConfig = {entrypoint: image.entrypoint, env: image.env, workingDir: rootfsRelative(image.workdir)};
  if (image.cmd.length) config.cmd = image.cmd;
  if (image.user !== undefined) config.user = image.user;
  if (image.exposedPorts.length) config.exposedPorts = image.exposedPorts;
  if (Object.keys(image.labels).length) config.labels = image.labels;
  return config;
}
