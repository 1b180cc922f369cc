/**
 * A zip file as ArchiveEntry values, read with yauzl: it reads the central directory (zip64
 * included), checks each local header against it, and inflates each entry as a stream whose
 * length must match what the directory says. Names are taken raw, without yauzl's own check
 * (which rewrites `\` to `/` and stops the whole zip with its own wording), so that every name
 * reaches the policy as the archive spells it.
 */
import type {Readable} from 'node:stream';
import yauzl from 'yauzl';
import type {ArchiveEntry, Meter} from './archive-entry';
import {ExtractError} from './extract-limits';

const MAX_LINK = 4096;
const UNIX_TYPES: Record<number, string> = {
  0o040000: 'dir',
  0o100000: 'file',
  0o120000: 'symlink',
  0o010000: 'FIFO',
  0o020000: 'character device',
  0o060000: 'block device',
  0o140000: 'socket',
};
// The "made by" host whose attributes carry a Unix st_mode.
const UNIX_HOST = 3;

/** The entries of the zip at `path`, in central-directory order; `meter` sees every inflated byte. */
export async function* zipEntries(path: string, meter: Meter): AsyncGenerator<ArchiveEntry> {
  const zip = await openZip(path);
  try {
    for (;;) {
      const z = await nextEntry(zip);
      if (!z) return;
      const name = yauzl.getFileNameLowLevel(z.generalPurposeBitFlag, z.fileNameRaw, z.extraFields, true);
      if (z.isEncrypted()) throw new ExtractError(`entry "${name}" is encrypted`, name);
      if (z.compressionMethod !== 0 && z.compressionMethod !== 8) {
        throw new ExtractError(
          `entry "${name}" uses compression method ${z.compressionMethod}; only stored and deflate are supported`,
          name,
        );
      }
      const content = () => inflate(zip, z, name, meter);
      const entry = toEntry(name, z, content);
      if (entry.type === 'symlink') {
        // A zip keeps a symlink's target as the entry's data.
        if (z.uncompressedSize > MAX_LINK)
          throw new ExtractError(`entry "${name}" is a symlink with a target longer than ${MAX_LINK} bytes`, name);
        const chunks: Buffer[] = [];
        for await (const chunk of content()) chunks.push(chunk);
        entry.linkTarget = Buffer.concat(chunks).toString('utf8');
      }
      yield entry;
    }
  } finally {
    zip.close();
  }
}

function toEntry(name: string, z: yauzl.Entry, content: () => AsyncIterable<Buffer>): ArchiveEntry {
  const unix = z.versionMadeBy >> 8 === UNIX_HOST;
  const mode = z.externalFileAttributes >>> 16;
  // Only zips made on Unix carry a file type in the high half of the attributes.
  const type = unix && mode ? UNIX_TYPES[mode & 0o170000] : undefined;
  const isDir = name.endsWith('/') || (z.externalFileAttributes & 0x10) !== 0;
  const base = {name, size: 0, content};
  if (type === 'dir' || (!type && isDir)) return {...base, type: 'dir', mode: 0o755};
  if (type === 'symlink') return {...base, type: 'symlink', mode: 0o777};
  if (type && type !== 'file') return {...base, type: 'other', kind: type, mode: 0};
  return {...base, type: 'file', mode: unix && mode ? mode & 0o777 : 0o644, size: z.uncompressedSize};
}

/** One entry's bytes, inflated as they are read and metered. */
async function* inflate(zip: yauzl.ZipFile, z: yauzl.Entry, name: string, meter: Meter): AsyncGenerator<Buffer> {
  let stream: Readable | undefined;
  try {
    stream = await zip.openReadStreamPromise(z);
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      meter(chunk.length, name);
      yield chunk;
    }
  } catch (err) {
    if (err instanceof ExtractError) throw err;
    throw new ExtractError(`entry "${name}" is corrupt: ${(err as Error).message}`, name);
  } finally {
    stream?.destroy();
  }
}

async function openZip(path: string): Promise<yauzl.ZipFile> {
  try {
    // decodeStrings: false keeps names raw (see the top); the sizes are still checked while inflating.
    return await yauzl.openPromise(path, {decodeStrings: false, validateEntrySizes: true});
  } catch (err) {
    throw new ExtractError(`the archive is not a valid zip file (${(err as Error).message})`);
  }
}

/** The next entry of the directory, or undefined after the last. */
function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | undefined> {
  return new Promise((resolve, reject) => {
    const done = () => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (entry: yauzl.Entry) => (done(), resolve(entry));
    const onEnd = () => (done(), resolve(undefined));
    const onError = (err: Error) => (done(), reject(new ExtractError(`the archive is not a valid zip file (${err.message})`)));
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}
