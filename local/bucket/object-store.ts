/**
 * The local bucket's object store: every generation of every object, kept as an immutable
 * file, so a build reads exactly the generation it was given even after the dropped file is
 * replaced. The drop folder is what users see; this store is what builds read.
 *
 * Layout under `root`: objects/<encodeURIComponent(object)>/<generation> (the bytes) and
 * <generation>.json (the object resource: name, bucket, generation, size, md5Hash, crc32c,
 * contentType, metadata, timeCreated).
 */
import {existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';

/** The Cloud Storage object resource (JSON API) of one stored generation. */
export interface StoredObject {
  bucket: string;
  name: string;
  generation: string;
  metageneration: string;
  size: string;
  md5Hash: string;
  crc32c: string;
  contentType: string;
  metadata?: Record<string, string>;
  timeCreated: string;
  updated: string;
}

/** The folder of one object's generations. */
export function objectDir(root: string, object: string): string {
  return join(root, 'objects', encodeURIComponent(object));
}

/** The file holding the bytes of `object` at `generation`. */
export function generationPath(root: string, object: string, generation: string): string {
  return join(objectDir(root, object), generation);
}

/** The stored resource of `object` at `generation`, or undefined when that generation does not exist. */
export function readObject(root: string, object: string, generation: string): StoredObject | undefined {
  if (!/^\d+$/.test(generation)) return undefined;
  const meta = `${generationPath(root, object, generation)}.json`;
  return existsSync(meta) ? (JSON.parse(readFileSync(meta, 'utf8')) as StoredObject) : undefined;
}

/** The newest generation of `object`, or undefined. */
export function latestGeneration(root: string, object: string): string | undefined {
  const dir = objectDir(root, object);
  if (!existsSync(dir)) return undefined;
  const gens = readdirSync(dir)
    .filter((f) => /^\d+$/.test(f))
    .map(BigInt)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return gens.length ? String(gens[gens.length - 1]) : undefined;
}

/** Marks the newest generation of `object` deleted (the bytes stay: releases built from it read them). */
export function markDeleted(root: string, object: string, generation: string): void {
  writeFileSync(join(objectDir(root, object), 'deleted'), generation);
}

/** The generation of `object` that was deleted last, or undefined. */
export function deletedGeneration(root: string, object: string): string | undefined {
  const f = join(objectDir(root, object), 'deleted');
  return existsSync(f) ? readFileSync(f, 'utf8').trim() : undefined;
}

/** The live generation of `object`: its newest, unless that one was deleted. */
export function liveGeneration(root: string, object: string): string | undefined {
  const latest = latestGeneration(root, object);
  return latest !== undefined && latest !== deletedGeneration(root, object) ? latest : undefined;
}

/** The names of every stored object starting with `prefix`, in lexicographic order (as the JSON API lists them). */
export function listObjectNames(root: string, prefix = ''): string[] {
  const dir = join(root, 'objects');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => decodeURIComponent(f))
    .filter((name) => name.startsWith(prefix))
    .sort();
}

/** Ensures the store exists. */
export function ensureStore(root: string): void {
  mkdirSync(join(root, 'objects'), {recursive: true});
}
