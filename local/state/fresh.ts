/**
 * `npm start -- --fresh`: removes what dropdeploy saved in the state folder (the object store,
 * the image registry, revision logs, the emulators' saved state), so the stack starts empty.
 * The bucket folder is the user's drop folder: its files are never removed.
 */
import {existsSync, readdirSync, rmSync, statSync} from 'node:fs';
import {isAbsolute, join, relative, resolve} from 'node:path';

/** The folders of the state folder that hold dropdeploy's own data, with what each is. */
export const SAVED_STATE: ReadonlyArray<{dir: string; what: string}> = [
  {dir: 'state', what: 'releases (Firestore), builds and services'},
  {dir: 'store', what: 'the stored generations of the bucket objects'},
  {dir: 'registry', what: 'the built images'},
  {dir: 'logs', what: 'revision logs'},
];

/** Whether `inner` is `outer` or inside it. */
function within(inner: string, outer: string): boolean {
  const rel = relative(resolve(outer), resolve(inner));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The folders `--fresh` removes: each saved-state folder, unless the bucket folder is in it or it is in the bucket folder. Pure. */
export function freshTargets(root: string, bucketDir: string): Array<{path: string; what: string}> {
  return SAVED_STATE.map(({dir, what}) => ({path: join(root, dir), what})).filter(
    ({path}) => !within(bucketDir, path) && !within(path, bucketDir),
  );
}

function countFiles(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, {withFileTypes: true})) {
    if (e.isDirectory()) n += countFiles(join(dir, e.name));
    else n++;
  }
  return n;
}

/** What `--fresh` did, one line each, for the log. */
export function removeSavedState(root: string, bucketDir: string): string[] {
  const lines: string[] = [];
  for (const {path, what} of freshTargets(root, bucketDir)) {
    if (!existsSync(path)) continue;
    const files = statSync(path).isDirectory() ? countFiles(path) : 1;
    rmSync(path, {recursive: true, force: true});
    lines.push(`--fresh: removed ${path} (${what}: ${files} file${files === 1 ? '' : 's'})`);
  }
  if (lines.length === 0) lines.push(`--fresh: there was no saved state in ${root}`);
  const kept = existsSync(bucketDir) ? countFiles(bucketDir) : 0;
  if (kept) {
    lines.push(
      `--fresh: kept the bucket folder ${bucketDir} (your files, ${kept} of them): its archives are new uploads to this ` +
        'empty stack and are deployed again; move them out of the folder first to start with nothing',
    );
  }
  return lines;
}
