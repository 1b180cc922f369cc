/**
 * The local bucket: a folder. A new or replaced file in it becomes a new generation in the
 * object store and is delivered to the event function as the `finalized` CloudEvent Eventarc
 * would send. Only complete files count: names starting with '.' (how `npm run drop` writes
 * before its atomic rename) are never objects, and a file must keep its size and mtime for
 * one more scan before it is taken, so a slow `cp` is not picked up half-written.
 */
import {randomUUID} from 'node:crypto';
import {copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync} from 'node:fs';
import {join, relative, sep} from 'node:path';
import {objectChecksums} from './checksums';
import {ensureStore, generationPath, latestGeneration, objectDir, readObject, type StoredObject} from './object-store';

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

/** Options of {@link BucketWatcher}. */
export interface BucketWatcherOptions {
  bucket: string;
  /** The folder users drop files into. */
  dir: string;
  /** The object store (immutable generations). */
  storeRoot: string;
  /** Delivers a stored object (the finalized event, and optionally a Pub/Sub notification). */
  deliver(object: StoredObject): Promise<void>;
  onError?(err: unknown, object: string): void;
  intervalMs?: number;
}

interface Seen {
  size: number;
  mtimeMs: number;
  ino: number;
  stable: boolean;
}

/** Polls the folder and turns each complete new file into a stored, delivered generation. */
export class BucketWatcher {
  private readonly seen = new Map<string, Seen>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private lastGeneration = 0n;

  constructor(private readonly opts: BucketWatcherOptions) {
    mkdirSync(opts.dir, {recursive: true});
    ensureStore(opts.storeRoot);
  }

  /** Starts polling. Files already in the folder whose content is already stored are not delivered again. */
  start(): void {
    const tick = () => {
      this.scanning = this.scan().catch((err) => this.opts.onError?.(err, '(scan)'));
      void this.scanning.then(() => { if (this.timer) this.timer = setTimeout(tick, this.opts.intervalMs ?? 200); });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Stops polling and waits for a running scan. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.scanning;
  }

  /** One pass over the folder; exported for tests. */
  async scan(): Promise<void> {
    for (const file of this.files(this.opts.dir)) {
      const st = statSync(file, {throwIfNoEntry: false});
      if (!st) continue;
      const prev = this.seen.get(file);
      const same = prev && prev.size === st.size && prev.mtimeMs === st.mtimeMs && prev.ino === st.ino;
      if (same && prev.stable) continue;
      if (!same) {
        // Changed since the last scan (or new): take it once it holds still for a scan.
        this.seen.set(file, {size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, stable: false});
        continue;
      }
      prev.stable = true;
      const object = relative(this.opts.dir, file).split(sep).join('/');
      try {
        const stored = this.store(object, file);
        if (stored) await this.opts.deliver(stored);
      } catch (err) {
        this.opts.onError?.(err, object);
      }
    }
  }

  private files(dir: string): string[] {
    return readdirSync(dir, {withFileTypes: true}).flatMap((e) => {
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
    if (previous && previous.md5Hash === sums.md5Hash && JSON.stringify(previous.metadata ?? {}) === JSON.stringify(metadata ?? {})) return undefined;
    // Generations are microsecond timestamps in Cloud Storage; keep them strictly growing.
    const now = BigInt(Date.now()) * 1000n;
    const floor = latest ? BigInt(latest) + 1n : 0n;
    let generation = now > floor ? now : floor;
    if (generation <= this.lastGeneration) generation = this.lastGeneration + 1n;
    this.lastGeneration = generation;
    const gen = String(generation);
    const time = new Date().toISOString();
    const resource: StoredObject = {
      bucket: this.opts.bucket, name: object, generation: gen, metageneration: '1', size: String(data.length),
      ...sums, contentType: contentType(object), timeCreated: time, updated: time,
    };
    if (metadata) resource.metadata = metadata;
    mkdirSync(objectDir(this.opts.storeRoot, object), {recursive: true});
    const target = generationPath(this.opts.storeRoot, object, gen);
    const tmp = `${target}.${randomUUID()}.tmp`;
    writeFileSync(tmp, data);
    renameSync(tmp, target);
    writeFileSync(`${target}.json`, JSON.stringify(resource, null, 2));
    return resource;
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
