/**
 * Safe extraction of an uploaded source archive (.tar.gz, .tgz or .zip) into a fresh folder.
 * Nothing is ever written outside it, and a refused archive leaves nothing behind.
 */
import {lstat, mkdir, readdir, rm, stat} from 'node:fs/promises';
import {join} from 'node:path';
import {createGunzip} from 'node:zlib';
import {extractEntries} from './archive-entry';
import {Budget, DEFAULT_LIMITS, ExtractError, type ExtractLimits} from './extract-limits';
import {consumeFile} from './read-stream';
import {SafeTree} from './safe-tree';
import {tarEntries} from './tar-entries';
import {zipEntries} from './zip-entries';

export {DEFAULT_LIMITS, ExtractError, type ExtractLimits} from './extract-limits';

/** What an extraction produced. */
export interface Extracted {
  /** The source root: `dest`, or its single top-level folder when the archive wraps the app in one. */
  root: string;
  entries: number;
  bytes: number;
}

/** The archive format of an object name, by its extension (case-insensitive), or undefined. */
export function archiveFormat(objectName: string): 'tar.gz' | 'zip' | undefined {
  const lower = objectName.toLowerCase();
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) return 'tar.gz';
  if (lower.endsWith('.zip')) return 'zip';
  return undefined;
}

/**
 * Extracts `archivePath` into `dest` (which must not exist yet), choosing the format from
 * `objectName`. Throws ExtractError, naming the entry, for anything unsafe or over a limit,
 * after removing `dest`.
 */
export async function extractArchive(
  archivePath: string,
  objectName: string,
  dest: string,
  limits: Partial<ExtractLimits> = {},
): Promise<Extracted> {
  const format = archiveFormat(objectName);
  if (!format) throw new ExtractError(`"${objectName}" is not a supported archive: upload a .tar.gz, .tgz or .zip`);
  const {size} = await stat(archivePath);
  const budget = new Budget({...DEFAULT_LIMITS, ...limits}, size);
  // Not recursive: a dest that already exists could hold anything, including links out.
  await mkdir(dest, {mode: 0o755});
  const tree = new SafeTree(dest);
  try {
    const meter = (n: number, entry: string) => budget.expanded(n, entry);
    if (format === 'zip') await extractEntries(zipEntries(archivePath, meter), tree, budget);
    else await consumeFile(archivePath, undefined, createGunzip(), (chunks) => extractEntries(tarEntries(chunks, meter), tree, budget));
    await tree.finish();
  } catch (err) {
    await rm(dest, {recursive: true, force: true});
    if (err instanceof ExtractError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code?.startsWith('Z_')) throw new ExtractError(`"${objectName}" is not a valid gzip file: ${(err as Error).message}`);
    throw err;
  }
  return {root: await sourceRoot(dest), entries: budget.entries, bytes: budget.bytes};
}

// Folders that archivers add next to the real content and that say nothing about its layout.
const NOISE = new Set(['__MACOSX']);

/** `dest`, or the single top-level folder holding package.json when `dest` has none itself (`tar czf app.tgz app/`). */
async function sourceRoot(dest: string): Promise<string> {
  const names = (await readdir(dest)).filter((n) => !NOISE.has(n));
  if (names.includes('package.json') || names.length !== 1) return dest;
  const only = join(dest, names[0]);
  const st = await lstat(only);
  if (!st.isDirectory()) return dest;
  const inner = await lstat(join(only, 'package.json')).catch(() => undefined);
  return inner?.isFile() ? only : dest;
}
