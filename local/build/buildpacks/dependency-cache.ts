/**
 * The local dependency cache: installed node_modules folders stored by the key of their install
 * (see cache-policy.ts), so a rebuild with the same lockfile, package manager and Node.js major
 * copies them instead of installing again, as the buildpacks reuse their cached layer.
 *
 * Layout under `root` (safe to delete whole at any time, e.g. `npm start -- --clear-build-cache`):
 *   entries/<key>/node_modules/…  what the install produced
 *   entries/<key>/entry.json      {key, bytes, label}; its mtime is the entry's last use
 *   tmp/, trash/                  entries being written and being removed
 *
 * Safe under concurrent builds: an entry is written in tmp/ and renamed into entries/ in one
 * step (the first of two builds with the same key wins; the other drops its copy), and evicted
 * by a rename into trash/ first, so a build copying from it fails its copy and installs instead
 * of getting half an entry.
 */
import {execFile} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {lstat, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {chooseEvictions, type CacheEntryInfo} from './cache-policy';

/** The default size budget: 2 GiB. */
export const DEFAULT_CACHE_BYTES = 2 * 1024 ** 3;

/** What {@link DependencyCache.store} did. */
export type StoreResult = 'stored' | 'already-stored' | 'too-big';

/** The cache at `root`, evicting least recently used entries beyond `maxBytes`. */
export class DependencyCache {
  constructor(
    readonly root: string,
    readonly maxBytes = DEFAULT_CACHE_BYTES,
  ) {}

  private entry(key: string): string {
    return join(this.root, 'entries', key);
  }

  /** Copies the entry's node_modules to `dest` (which must not exist); false when there is none or the copy failed. */
  async restore(key: string, dest: string): Promise<boolean> {
    const dir = this.entry(key);
    try {
      await stat(join(dir, 'entry.json'));
    } catch {
      return false;
    }
    try {
      await copyTree(join(dir, 'node_modules'), dest);
      const now = new Date();
      await utimes(join(dir, 'entry.json'), now, now);
      return true;
    } catch {
      // Evicted while copying, or the disk is full: the build installs instead.
      await rm(dest, {recursive: true, force: true});
      return false;
    }
  }

  /** Stores a copy of the node_modules folder `src` under `key`, then evicts beyond the budget. */
  async store(key: string, src: string, label: string): Promise<StoreResult> {
    const bytes = await treeBytes(src);
    if (bytes > this.maxBytes) return 'too-big';
    const tmp = join(this.root, 'tmp', `${key}-${randomBytes(6).toString('hex')}`);
    await mkdir(tmp, {recursive: true});
    try {
      await copyTree(src, join(tmp, 'node_modules'));
      await writeFile(join(tmp, 'entry.json'), JSON.stringify({key, bytes, label}) + '\n');
      await mkdir(join(this.root, 'entries'), {recursive: true});
      try {
        await rename(tmp, this.entry(key));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST') return 'already-stored';
        throw err;
      }
    } finally {
      await rm(tmp, {recursive: true, force: true});
    }
    await this.evict(new Set([key]));
    return 'stored';
  }

  /** Every entry with its size and last use. */
  async entries(): Promise<CacheEntryInfo[]> {
    let keys: string[];
    try {
      keys = await readdir(join(this.root, 'entries'));
    } catch {
      return [];
    }
    const out: CacheEntryInfo[] = [];
    for (const key of keys) {
      try {
        const file = join(this.entry(key), 'entry.json');
        const [st, text] = await Promise.all([stat(file), readFile(file, 'utf8')]);
        out.push({key, bytes: Number((JSON.parse(text) as {bytes?: unknown}).bytes) || 0, lastUsedMs: st.mtimeMs});
      } catch {
        // being evicted by another build
      }
    }
    return out;
  }

  /** Evicts least recently used entries until the cache fits its budget, keeping `keep`. */
  async evict(keep: ReadonlySet<string> = new Set()): Promise<string[]> {
    const gone = chooseEvictions(await this.entries(), this.maxBytes, keep);
    for (const key of gone) {
      const trash = join(this.root, 'trash', `${key}-${randomBytes(6).toString('hex')}`);
      await mkdir(join(this.root, 'trash'), {recursive: true});
      try {
        await rename(this.entry(key), trash);
      } catch {
        continue; // another build evicted it first
      }
      await rm(trash, {recursive: true, force: true});
    }
    return gone;
  }
}

/** `cp -a`: symlinks, modes and times kept, and much faster than a copy in JavaScript for a node_modules tree. */
function copyTree(from: string, to: string): Promise<void> {
  return new Promise((done, fail) => {
    execFile('cp', ['-a', from, to], (err, _out, stderr) =>
      err ? fail(new Error(`cp -a ${from} failed: ${stderr || err.message}`)) : done(),
    );
  });
}

/** The bytes of the files under `dir` (symlinks count as links, not their targets). */
async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) {
    const st = await lstat(join(dir, name));
    total += st.isDirectory() ? await treeBytes(join(dir, name)) : st.size;
  }
  return total;
}
