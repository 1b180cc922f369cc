/**
 * The local bucket: a folder. A new or replaced file in it becomes a new generation in the
 * object store and is delivered to the event function as the `finalized` CloudEvent Eventarc
 * would send. Only complete files count: names starting with '.' (how `npm run drop` writes
 * before its atomic rename) are never objects, and a file must keep its size, mtime and inode
 * for a short settle time after the last change seen before it is taken, so a slow `cp` is not
 * picked up half-written. Changes are seen by `fs.watch` on each folder; a slow rescan of the whole
 * folder picks up files present at start and heals any event the watch dropped.
 */
import {randomUUID} from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  watch as fsWatch,
  writeFileSync,
  type Dirent,
  type FSWatcher,
} from 'node:fs';
import {join, relative, sep} from 'node:path';
import {objectChecksums} from './checksums';
import {
  deletedGeneration,
  ensureStore,
  generationPath,
  latestGeneration,
  markDeleted,
  objectDir,
  readObject,
  type StoredObject,
} from './object-store';

/** Where an object's custom metadata may be given: `.<file name>.metadata.json` beside it. */
export function sidecarPath(file: string): string {
  const i = file.lastIndexOf(sep);
  return join(file.slice(0, i + 1), `.${file.slice(i + 1)}.metadata.json`);
}

/** Content types by extension, as `gcloud storage cp` would guess them. */
function contentType(name: string): string {
  const n = name.toLowerCase();
  if (n.endsWith('.tar.gz') || n.endsWith('.tgz')) return 'application/gzip';
  if (n.endsWith('.zip')) return 'application/zip';
  if (n.endsWith('.json')) return 'application/json';
  return 'application/octet-stream';
}

/** What the watcher last saw of a file: its identity, when it was seen so (ms), and whether it has been taken. */
export interface Observed {
  size: number;
  mtimeMs: number;
  ino: number;
  at: number;
  taken: boolean;
}

/** Of a file's stat, what tells one content from another. */
export type FileStat = Pick<Observed, 'size' | 'mtimeMs' | 'ino'>;

/**
 * Whether a file is complete, from what was last seen of it (`prev`) and its stat now (`now`,
 * undefined when it is gone), at time `at`: `changed` (new, written, or replaced since),
 * `settling` (unchanged, but for less than `settleMs`), `settled` (take it) or `taken` (already).
 */
export function settled(
  prev: Observed | undefined,
  now: FileStat | undefined,
  at: number,
  settleMs: number,
): 'gone' | 'changed' | 'settling' | 'settled' | 'taken' {
  if (!now) return 'gone';
  if (!prev || prev.size !== now.size || prev.mtimeMs !== now.mtimeMs || prev.ino !== now.ino) return 'changed';
  if (prev.taken) return 'taken';
  return at - prev.at >= settleMs ? 'settled' : 'settling';
}

/** A running watch of a folder: reports paths (relative to it) that may have changed, or undefined when it cannot tell which. */
export type Watch = (dir: string, onChange: (path: string | undefined) => void, onError: (err: unknown) => void) => {close(): void};

/**
 * `fs.watch` on the folder and on every folder in it, each one not recursive: a folder's watch
 * reports its files' writes, creations and renames by name. (Node 20's recursive watch on Linux
 * watches each file's inode instead, so after a file is replaced by a rename it reports nothing
 * more of it.) Folders whose names start with '.' are not watched.
 */
export const folderWatch: Watch = (dir, onChange, onError) => {
  const watchers = new Map<string, FSWatcher>();
  const unwatch = (rel: string) => {
    for (const [p, w] of watchers) {
      if (p === rel || p.startsWith(rel + sep)) {
        w.close();
        watchers.delete(p);
      }
    }
  };
  const add = (rel: string) => {
    if (watchers.has(rel)) return;
    const full = join(dir, rel);
    let w: FSWatcher;
    try {
      w = fsWatch(full, (_event, name) => {
        if (name === null) return onChange(undefined);
        const p = rel ? join(rel, name) : name;
        if (!name.startsWith('.')) {
          const st = statSync(join(dir, p), {throwIfNoEntry: false});
          if (st?.isDirectory()) add(p);
          else if (!st) unwatch(p);
        }
        onChange(p);
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (rel && (code === 'ENOENT' || code === 'ENOTDIR')) return;
      throw err;
    }
    w.on('error', (err) => {
      unwatch(rel);
      if (!rel) onError(err);
    });
    watchers.set(rel, w);
    let entries: Dirent[] = [];
    try {
      entries = readdirSync(full, {withFileTypes: true});
    } catch {
      // gone again: its parent's watch reports that
    }
    for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.')) add(rel ? join(rel, e.name) : e.name);
  };
  add('');
  return {
    close: () => {
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
};

/** What an upload through the JSON API says of its bytes. */
export interface UploadInfo {
  size: number;
  md5Hash: string;
  crc32c: string;
  /** Default: by the name's extension, as for a dropped file. */
  contentType?: string;
  metadata?: Record<string, string>;
}

/** Options of {@link BucketWatcher}. */
export interface BucketWatcherOptions {
  bucket: string;
  /** The folder users drop files into. */
  dir: string;
  /** The object store (immutable generations). */
  storeRoot: string;
  /** Delivers a stored object (the finalized event, and optionally a Pub/Sub notification). */
  deliver(object: StoredObject): Promise<void>;
  /** Delivers the deletion of a file that was taken and is gone (its newest generation, as it was). */
  deliverDeleted?(object: StoredObject): Promise<void>;
  onError?(err: unknown, object: string): void;
  /** How long a file must stay unchanged after its last change before it is taken. Default 30 ms. */
  settleMs?: number;
  /** Between safety rescans of the whole folder, for events the watch missed. Default 2000 ms. */
  rescanMs?: number;
  /** How changes are seen; default {@link folderWatch}. */
  watch?: Watch;
}

/** Watches the folder and turns each complete new file into a stored, delivered generation. */
export class BucketWatcher {
  private readonly seen = new Map<string, Observed>();
  /** Files waiting for their settle time, by path. */
  private readonly settling = new Map<string, NodeJS.Timeout>();
  private watcher: {close(): void} | undefined;
  private rescan: NodeJS.Timeout | undefined;
  private running = false;
  /** Checks and deliveries, one at a time, in order. */
  private work: Promise<void> = Promise.resolve();
  private lastGeneration = 0n;

  constructor(private readonly opts: BucketWatcherOptions) {
    mkdirSync(opts.dir, {recursive: true});
    ensureStore(opts.storeRoot);
  }

  private get settleMs(): number {
    return this.opts.settleMs ?? 30;
  }

  /**
   * Starts watching, then scans the folder once; resolves when both are done. Files already in
   * the folder whose content is already stored are not delivered again.
   */
  async start(): Promise<void> {
    this.running = true;
    this.startWatch();
    this.rescan = setInterval(() => {
      if (!this.watcher) this.startWatch();
      void this.enqueue(() => this.scan());
    }, this.opts.rescanMs ?? 2000);
    await this.enqueue(() => this.scan());
  }

  /** Stops watching and waits for a running check or delivery. */
  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.rescan);
    for (const t of this.settling.values()) clearTimeout(t);
    this.settling.clear();
    this.watcher?.close();
    this.watcher = undefined;
    await this.work;
  }

  /** One pass over the folder: a change is remembered, a file unchanged for the settle time is taken; exported for tests. */
  async scan(): Promise<void> {
    const files = this.files(this.opts.dir);
    const present = new Set(files);
    for (const [file, prev] of this.seen) {
      if (present.has(file)) continue;
      this.seen.delete(file);
      if (prev.taken) await this.deleted(file);
    }
    for (const file of files) await this.check(file);
  }

  private startWatch(): void {
    const watch = this.opts.watch ?? folderWatch;
    try {
      this.watcher = watch(
        this.opts.dir,
        (path) => this.changed(path),
        (err) => {
          // The rescan starts a new watch; until then it alone finds new files.
          this.opts.onError?.(err, '(watch)');
          this.watcher?.close();
          this.watcher = undefined;
        },
      );
    } catch (err) {
      this.opts.onError?.(err, '(watch)');
    }
  }

  /** A path the watch reported: check it (a folder: every file in it; unknown: the whole folder). */
  private changed(path: string | undefined): void {
    if (!this.running) return;
    if (path === undefined) {
      void this.enqueue(() => this.scan());
      return;
    }
    if (path.split(sep).some((part) => part.startsWith('.'))) return;
    const full = join(this.opts.dir, path);
    void this.enqueue(async () => {
      const st = statSync(full, {throwIfNoEntry: false});
      if (st?.isDirectory()) for (const file of this.files(full)) await this.check(file, true);
      else await this.check(full, true);
    });
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    this.work = this.work.then(job).catch((err) => this.opts.onError?.(err, '(scan)'));
    return this.work;
  }

  /**
   * Looks at `file` now: remembers a change and checks again after the settle time; takes it
   * once it has settled. An event restarts the settle time even when the stat looks the same
   * (two writes within one tick of the file system's clock leave the same mtime).
   */
  private async check(file: string, event = false): Promise<void> {
    const st = statSync(file, {throwIfNoEntry: false});
    const now = st?.isFile() ? {size: st.size, mtimeMs: st.mtimeMs, ino: st.ino} : undefined;
    const at = performance.now();
    const prev = this.seen.get(file);
    let verdict = settled(prev, now, at, this.settleMs);
    if (event && (verdict === 'settling' || verdict === 'settled')) verdict = 'changed';
    if (verdict === 'gone') {
      this.seen.delete(file);
      if (prev?.taken) await this.deleted(file);
      return;
    }
    if (verdict === 'taken') return;
    if (verdict === 'changed') {
      this.seen.set(file, {...now!, at, taken: false});
      this.checkLater(file, this.settleMs);
      return;
    }
    if (verdict === 'settling') {
      this.checkLater(file, this.settleMs - (at - prev!.at));
      return;
    }
    prev!.taken = true;
    const object = relative(this.opts.dir, file).split(sep).join('/');
    try {
      const stored = this.store(object, file);
      if (stored) await this.opts.deliver(stored);
    } catch (err) {
      this.opts.onError?.(err, object);
    }
  }

  /** A taken file is gone: its newest generation is marked deleted and the deletion delivered, as Cloud Storage would. */
  private async deleted(file: string): Promise<void> {
    const object = relative(this.opts.dir, file).split(sep).join('/');
    try {
      const latest = latestGeneration(this.opts.storeRoot, object);
      if (!latest || deletedGeneration(this.opts.storeRoot, object) === latest) return;
      markDeleted(this.opts.storeRoot, object, latest);
      const stored = readObject(this.opts.storeRoot, object, latest);
      if (stored) await this.opts.deliverDeleted?.(stored);
    } catch (err) {
      this.opts.onError?.(err, object);
    }
  }

  /** Checks `file` again in `ms` (sooner checks of it are replaced). */
  private checkLater(file: string, ms: number): void {
    if (!this.running) return;
    clearTimeout(this.settling.get(file));
    this.settling.set(
      file,
      setTimeout(
        () => {
          this.settling.delete(file);
          void this.enqueue(() => this.check(file));
        },
        Math.max(1, Math.ceil(ms)),
      ),
    );
  }

  private files(dir: string): string[] {
    let entries;
    try {
      entries = readdirSync(dir, {withFileTypes: true});
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && dir !== this.opts.dir) return [];
      throw err;
    }
    return entries.flatMap((e) => {
      if (e.name.startsWith('.')) return [];
      const p = join(dir, e.name);
      return e.isDirectory() ? this.files(p) : e.isFile() ? [p] : [];
    });
  }

  /** Stores `file` as a new generation of `object`, or returns undefined when its content is the newest generation already. */
  private store(object: string, file: string): StoredObject | undefined {
    const data = readFileSync(file);
    const sums = objectChecksums(data);
    const latest = latestGeneration(this.opts.storeRoot, object);
    const previous = latest && readObject(this.opts.storeRoot, object, latest);
    const metadata = this.metadata(file);
    // The same bytes dropped again after a deletion are a new generation, as an upload would be.
    const deleted = latest !== undefined && deletedGeneration(this.opts.storeRoot, object) === latest;
    if (
      !deleted &&
      previous &&
      previous.md5Hash === sums.md5Hash &&
      JSON.stringify(previous.metadata ?? {}) === JSON.stringify(metadata ?? {})
    )
      return undefined;
    const resource = this.newResource(object, latest, {size: data.length, ...sums, contentType: contentType(object), metadata});
    const target = generationPath(this.opts.storeRoot, object, resource.generation);
    const tmp = `${target}.${randomUUID()}.tmp`;
    writeFileSync(tmp, data);
    renameSync(tmp, target);
    writeFileSync(`${target}.json`, JSON.stringify(resource, null, 2));
    return resource;
  }

  /** The resource of a new generation of `object` (its folder made); generations are microsecond timestamps, strictly growing. */
  private newResource(object: string, latest: string | undefined, info: UploadInfo): StoredObject {
    const now = BigInt(Date.now()) * 1000n;
    const floor = latest ? BigInt(latest) + 1n : 0n;
    let generation = now > floor ? now : floor;
    if (generation <= this.lastGeneration) generation = this.lastGeneration + 1n;
    this.lastGeneration = generation;
    const time = new Date().toISOString();
    const resource: StoredObject = {
      bucket: this.opts.bucket,
      name: object,
      generation: String(generation),
      metageneration: '1',
      size: String(info.size),
      md5Hash: info.md5Hash,
      crc32c: info.crc32c,
      contentType: info.contentType ?? contentType(object),
      timeCreated: time,
      updated: time,
    };
    if (info.metadata && Object.keys(info.metadata).length) resource.metadata = {...info.metadata};
    mkdirSync(objectDir(this.opts.storeRoot, object), {recursive: true});
    return resource;
  }

  /**
   * An upload through the JSON API: its bytes (already in `file`, on the store's file system,
   * with their checksums) become a new generation of `object`, written into the bucket folder
   * too (with its metadata sidecar) so the folder stays the bucket, and are delivered as a
   * dropped file is — once: the folder's copy is marked taken before the watch can see it.
   * Every upload is a new generation, as in Cloud Storage, even of the same bytes. Resolves
   * with the resource once stored; the delivery follows.
   */
  upload(object: string, file: string, info: UploadInfo): Promise<StoredObject> {
    return new Promise((resolve, reject) => {
      void this.enqueue(async () => {
        let stored: StoredObject;
        let target: string;
        try {
          stored = this.newResource(object, latestGeneration(this.opts.storeRoot, object), info);
          target = generationPath(this.opts.storeRoot, object, stored.generation);
          renameSync(file, target);
          writeFileSync(`${target}.json`, JSON.stringify(stored, null, 2));
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        try {
          this.mirror(object, target, stored.metadata);
        } catch (err) {
          // Stored all the same: the API lists and serves it, only the folder has no copy.
          this.opts.onError?.(err, object);
        }
        resolve(stored);
        try {
          await this.opts.deliver(stored);
        } catch (err) {
          this.opts.onError?.(err, object);
        }
      });
    });
  }

  /** Copies a stored generation into the folder as `object` (when the name is a plain path there), marked taken. */
  private mirror(object: string, stored: string, metadata: Record<string, string> | undefined): void {
    const parts = object.split('/');
    if (parts.some((p) => p === '' || p.startsWith('.'))) return; // no such file in a folder; the store alone has it
    const target = join(this.opts.dir, ...parts);
    if (statSync(target, {throwIfNoEntry: false})?.isDirectory()) return;
    mkdirSync(join(target, '..'), {recursive: true});
    const side = sidecarPath(target);
    if (metadata) {
      writeFileSync(`${side}.tmp`, JSON.stringify(metadata));
      renameSync(`${side}.tmp`, side);
    } else rmSync(side, {force: true});
    const tmp = join(target, '..', `.${randomUUID()}.partial`);
    copyFileSync(stored, tmp);
    renameSync(tmp, target);
    const st = statSync(target);
    this.seen.set(target, {size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, at: performance.now(), taken: true});
  }

  private metadata(file: string): Record<string, string> | undefined {
    const side = sidecarPath(file);
    if (!existsSync(side)) return undefined;
    const parsed: unknown = JSON.parse(readFileSync(side, 'utf8'));
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) {
      throw new Error(`${side} must be a JSON object of string values, e.g. {"function-target": "hello"}`);
    }
    return parsed as Record<string, string>;
  }
}

/** Copies `source` into the bucket folder as `object` atomically (write to a dot-file, then rename), with optional metadata. */
export function dropFile(bucketDir: string, object: string, source: string, metadata?: Record<string, string>): string {
  const target = join(bucketDir, ...object.split('/'));
  mkdirSync(join(target, '..'), {recursive: true});
  if (metadata && Object.keys(metadata).length) {
    const side = sidecarPath(target);
    writeFileSync(`${side}.tmp`, JSON.stringify(metadata));
    renameSync(`${side}.tmp`, side);
  }
  const tmp = join(target, '..', `.${randomUUID()}.partial`);
  copyFileSync(source, tmp);
  renameSync(tmp, target);
  return target;
}
