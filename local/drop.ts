/**
 * `npm run drop -- <folder|archive> [--service NAME] [--function TARGET] [--signature-type TYPE] [--rollout POLICY]`:
 * packs a folder as .tar.gz (or takes an archive as it is) and uploads it to the running stack's
 * bucket through its Cloud Storage JSON API (`.dropdeploy/local.json`), as `gcloud storage cp`
 * would. {@link drop} puts it in the bucket folder instead, atomically, as a user's `cp` does.
 */
import {spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {basename, join, resolve} from 'node:path';
import {Storage} from '@google-cloud/storage';
import {archiveExtension, serviceNameProblem} from '../src/releases/naming';
import {REPO_ROOT} from './repo-root';
import {dropFile} from './bucket/watcher';

/** Parsed command line of `drop`. */
export interface DropArgs {
  path: string;
  service?: string;
  functionTarget?: string;
  signatureType?: string;
  /** The upload's rollout override (object metadata `dropdeploy-rollout`): a strategy name or JSON. */
  rollout?: string;
}

/** Parses argv (without node and script), or throws with usage. */
export function parseDropArgs(argv: string[]): DropArgs {
  const usage =
    'usage: npm run drop -- <folder|archive> [--service NAME] [--function TARGET] [--signature-type http|event|cloudevent] [--rollout immediate|verified|canary|JSON]';
  const out: Partial<DropArgs> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (!v || v.startsWith('--')) throw new Error(`${a} needs a value\n${usage}`);
      return v;
    };
    if (a === '--service') out.service = value();
    else if (a === '--function') out.functionTarget = value();
    else if (a === '--signature-type') out.signatureType = value();
    else if (a === '--rollout') out.rollout = value();
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}\n${usage}`);
    else if (out.path) throw new Error(`only one folder or archive at a time\n${usage}`);
    else out.path = a;
  }
  if (!out.path) throw new Error(usage);
  return out as DropArgs;
}

/** Packs `dir` into a .tar.gz (without node_modules and .git) and returns its path. */
export function packFolder(dir: string): string {
  const out = join(mkdtempSync(join(tmpdir(), 'dd-drop-')), 'source.tar.gz');
  const r = spawnSync('tar', ['-czf', out, '--exclude=./node_modules', '--exclude=./.git', '-C', dir, '.'], {encoding: 'utf8'});
  if (r.status !== 0) throw new Error(`tar failed to pack ${dir}: ${r.stderr || r.error?.message}`);
  return out;
}

/** What one drop sends: the object's name, the archive to send as it, its custom metadata. */
interface Prepared {
  object: string;
  archive: string;
  metadata: Record<string, string>;
  /** Removes the archive when it was packed from a folder. */
  cleanup(): void;
}

/** Checks `args` and packs a folder: what to send, or a user's error. */
function prepare(args: DropArgs, now: Date): Prepared {
  const path = resolve(args.path);
  if (!existsSync(path)) throw new Error(`${args.path} does not exist`);
  const isDir = statSync(path).isDirectory();
  const ext = isDir ? '.tar.gz' : archiveExtension(path);
  if (!ext) throw new Error(`${args.path} is neither a folder nor a .tar.gz, .tgz or .zip archive`);
  const base = basename(path).slice(0, isDir ? undefined : -ext.length);
  const service = args.service ?? base;
  const problem = serviceNameProblem(service);
  if (problem) throw new Error(`${problem}; pass --service NAME with a valid Cloud Run service name`);
  if (args.signatureType && !args.functionTarget) throw new Error('--signature-type needs --function TARGET');
  const metadata: Record<string, string> = {};
  if (args.functionTarget) metadata['function-target'] = args.functionTarget;
  if (args.signatureType) metadata['function-signature-type'] = args.signatureType;
  if (args.rollout) metadata['dropdeploy-rollout'] = args.rollout;
  const object = `${service}/${now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '')}${ext}`;
  const archive = isDir ? packFolder(path) : path;
  return {object, archive, metadata, cleanup: () => isDir && rmSync(join(archive, '..'), {recursive: true, force: true})};
}

/** Drops `args.path` into the bucket folder `bucketDir` (atomically, by rename); returns the object name. */
export function drop(bucketDir: string, args: DropArgs, now = new Date()): string {
  const p = prepare(args, now);
  try {
    dropFile(bucketDir, p.object, p.archive, p.metadata);
  } finally {
    p.cleanup();
  }
  return p.object;
}

/** Where {@link upload} sends a drop: the running stack's bucket and its Cloud Storage JSON API. */
export interface UploadTarget {
  /** e.g. `http://127.0.0.1:8123` (`storageEndpoint` in local.json). */
  storageEndpoint: string;
  bucket: string;
}

/**
 * Uploads `args.path` to the stack's bucket through its Cloud Storage JSON API, with the official
 * client, as `gcloud storage cp` would: the object is final when the upload returns, so the stack
 * takes it at once (a file copied into the bucket folder waits out a settle time first).
 * Resolves with the object name and its generation.
 */
export async function upload(target: UploadTarget, args: DropArgs, now = new Date()): Promise<{object: string; generation: string}> {
  const p = prepare(args, now);
  try {
    // A local JSON API takes no credentials: the client sends none to a custom endpoint.
    const storage = new Storage({apiEndpoint: target.storageEndpoint, projectId: 'dropdeploy-local'});
    const [file] = await storage.bucket(target.bucket).upload(p.archive, {
      destination: p.object,
      resumable: false,
      metadata: Object.keys(p.metadata).length ? {metadata: p.metadata} : {},
    });
    return {object: p.object, generation: String(file.metadata.generation)};
  } catch (err) {
    throw new Error(
      `the upload to the local stack at ${target.storageEndpoint} failed (${(err as Error).message}): is \`npm start\` still running? Start it again if not`,
      {cause: err},
    );
  } finally {
    p.cleanup();
  }
}

async function main(): Promise<void> {
  const info = join(process.env.DROPDEPLOY_LOCAL_DIR ?? join(REPO_ROOT, '.dropdeploy'), 'local.json');
  if (!existsSync(info)) {
    console.error('No local stack found (.dropdeploy/local.json is missing): start it first with `npm start` in another terminal.');
    process.exit(2);
  }
  const stack = JSON.parse(readFileSync(info, 'utf8')) as Partial<UploadTarget>;
  if (!stack.storageEndpoint || !stack.bucket) {
    console.error(`${info} names no Cloud Storage endpoint: it was written by an older dropdeploy; restart \`npm start\``);
    process.exit(2);
  }
  try {
    const {object, generation} = await upload(
      {storageEndpoint: stack.storageEndpoint, bucket: stack.bucket},
      parseDropArgs(process.argv.slice(2)),
    );
    console.log(`uploaded gs://${stack.bucket}/${object}#${generation}; watch the status in the npm start terminal`);
  } catch (err) {
    console.error(`drop: ${(err as Error).message}`);
    process.exit(2);
  }
}

if (require.main === module) void main();
