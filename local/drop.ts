/**
 * `npm run drop -- <folder|archive> [--service NAME] [--function TARGET] [--signature-type TYPE] [--rollout POLICY]`:
 * packs a folder as .tar.gz (or takes an archive as it is) and drops it atomically into the
 * local bucket folder of the running stack (`.dropdeploy/local.json`).
 */
import {spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {basename, join, resolve} from 'node:path';
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

/** Drops `args.path` into `bucketDir`; returns the object name. */
export function drop(bucketDir: string, args: DropArgs, now = new Date()): string {
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
  try {
    dropFile(bucketDir, object, archive, metadata);
  } finally {
    if (isDir) rmSync(join(archive, '..'), {recursive: true, force: true});
  }
  return object;
}

function main(): void {
  const info = join(process.env.DROPDEPLOY_LOCAL_DIR ?? join(REPO_ROOT, '.dropdeploy'), 'local.json');
  if (!existsSync(info)) {
    console.error('No local stack found (.dropdeploy/local.json is missing): start it first with `npm start` in another terminal.');
    process.exit(2);
  }
  const {bucketDir} = JSON.parse(readFileSync(info, 'utf8')) as {bucketDir: string};
  try {
    const object = drop(bucketDir, parseDropArgs(process.argv.slice(2)));
    console.log(`dropped ${object} into ${bucketDir}; watch the status in the npm start terminal`);
  } catch (err) {
    console.error(`drop: ${(err as Error).message}`);
    process.exit(2);
  }
}

if (require.main === module) main();
