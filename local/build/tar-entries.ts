/**
 * A tar stream (already gunzipped) as ArchiveEntry values, read with node-tar's Parser: the
 * parser only describes entries (ustar, pax, GNU long names), and unlike tar's extractor it
 * neither strips `..` and `/` from paths nor skips links, so every name reaches the policy as
 * the archive spells it. Nothing is buffered whole: an entry's bytes stream as they arrive.
 */
import {Parser, type ReadEntry} from 'tar';
import type {ArchiveEntry, Meter} from './archive-entry';
import {ExtractError} from './extract-limits';

// pax and GNU long-name headers are read into memory: keep them small.
const MAX_META = 1024 * 1024;
// Entries parsed ahead of the one being written (links and folders have no body to wait on).
const MAX_AHEAD = 64;
const GZIP_MAGIC = [0x1f, 0x8b];
const BLOCK = 512;
const START = '(start of archive)';

const KINDS: Record<string, string> = {
  CharacterDevice: 'character device',
  BlockDevice: 'block device',
  FIFO: 'FIFO',
  GNUDumpDir: 'GNU dump directory',
  SparseFile: 'GNU sparse file',
  ContinuationFile: 'GNU multi-volume continuation',
  TapeVolumeHeader: 'tape volume header',
  SolarisACL: 'Solaris ACL',
  Inode: 'GNU inode record',
};

/**
 * The entries of the tar in `input`, in order. `meter` sees every byte of the stream (headers
 * and padding too), so a bomb of metadata stops as early as one of content.
 */
export async function* tarEntries(input: AsyncIterable<Buffer>, meter: Meter): AsyncGenerator<ArchiveEntry> {
  // strict: what node-tar would only warn about (bad checksum, truncation, a link without a target) is an error.
  const parser = new Parser({strict: true, maxMetaEntrySize: MAX_META, brotli: false, zstd: false});
  const queue: ReadEntry[] = [];
  let failure: Error | undefined;
  let ended = false;
  let lastName = START;
  // Wakes whichever side waits: the reader for an entry, the feeder for room.
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const waitForNews = () => new Promise<void>((resolve) => (wake = resolve));
  // Rejects at the first failure, to stop a read of an entry whose bytes will never come now.
  let rejectFailed: (err: Error) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (rejectFailed = reject));
  failed.catch(() => undefined);
  const fail = (err: Error) => {
    failure ??= err;
    rejectFailed(failure);
    notify();
  };

  parser.on('entry', (e: ReadEntry) => {
    lastName = e.path;
    queue.push(e);
    notify();
  });
  // What node-tar skips by itself (a kind it does not know, a metadata header over MAX_META) is refused, not dropped.
  parser.on('ignoredEntry', (e: ReadEntry) => {
    fail(
      e.meta
        ? new ExtractError(`the archive has a ${e.size}-byte metadata header ("${e.path}"); at most ${MAX_META} bytes are allowed`, e.path)
        : new ExtractError(`entry "${e.path}" is a ${kindOf(e)}; only files, directories and links are allowed`, e.path),
    );
  });
  parser.on('error', (err: Error) => fail(tarError(err, lastName)));
  // node-tar drops a partial header at the very end without a word; the old reader called it truncated, and so does this one.
  let fed = 0;
  let sawEnd = false;
  parser.on('eof', () => (sawEnd = true));
  parser.on('end', () => {
    if (!sawEnd && fed % BLOCK) fail(new ExtractError(`the archive is truncated (after "${lastName}")`, lastName));
    ended = true;
    notify();
  });

  let stopped = false;
  let drained: (() => void) | undefined;
  parser.on('drain', () => drained?.());
  const feed = (async () => {
    let first = true;
    try {
      for await (const chunk of input) {
        if (stopped || failure) return;
        if (first && GZIP_MAGIC.every((b, i) => chunk[i] === b)) {
          throw new ExtractError('the archive is compressed twice (gzip inside gzip): upload a .tar.gz of the source, compressed once');
        }
        first = false;
        meter(chunk.length, lastName);
        fed += chunk.length;
        const more = parser.write(chunk);
        if (!more && !failure) await new Promise<void>((resolve) => (drained = resolve));
        while (queue.length > MAX_AHEAD && !stopped && !failure) await waitForNews();
      }
      if (!stopped && !failure) parser.end();
    } catch (err) {
      fail(err as Error);
    }
  })();

  try {
    for (;;) {
      if (failure) throw failure;
      const e = queue.shift();
      if (e) {
        notify(); // room for the feeder
        yield toEntry(e, () => failure, failed);
        // Bytes nobody asked for (a link's or folder's body, a refused entry) are skipped.
        if (!failure) e.resume();
        continue;
      }
      if (ended) break;
      await waitForNews();
    }
  } finally {
    stopped = true;
    drained?.();
    notify();
    await feed;
  }
}

function toEntry(e: ReadEntry, failure: () => Error | undefined, failed: Promise<never>): ArchiveEntry {
  const name = e.path;
  const mode = e.mode ?? 0o644;
  const content = async function* (): AsyncGenerator<Buffer> {
    const chunks = e[Symbol.asyncIterator]();
    for (;;) {
      const err = failure();
      if (err) throw err;
      // Raced with the failure: once the stream stops, this entry's next bytes never arrive.
      const next = await Promise.race([chunks.next(), failed]);
      if (next.done) break;
      yield next.value;
    }
    const err = failure();
    if (err) throw err;
  };
  const base = {name, mode, size: 0, content};
  switch (e.type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      return {...base, type: 'file', size: e.size};
    case 'Directory':
      return {...base, type: 'dir'};
    case 'SymbolicLink':
      return {...base, type: 'symlink', linkTarget: e.linkpath ?? ''};
    case 'Link':
      return {...base, type: 'hardlink', linkTarget: e.linkpath ?? ''};
    default:
      return {...base, type: 'other', kind: kindOf(e)};
  }
}

/** What a tar entry that is not a file, folder or link is, for its refusal. */
function kindOf(e: ReadEntry): string {
  return KINDS[e.type] ?? 'tar entry of a type that is not part of the tar format';
}

/** node-tar's errors, worded as refusals of the archive. */
function tarError(err: Error, lastName: string): Error {
  if (err instanceof ExtractError) return err;
  const {tarCode, header} = err as Error & {tarCode?: string; header?: {path?: string}};
  const message = err.message.replace(/^TAR_[A-Z_]+: /, '');
  const entry = header?.path;
  if (entry && message === 'linkpath required') return new ExtractError(`entry "${entry}" is a link with no target`, entry);
  if (entry && tarCode === 'TAR_ENTRY_INVALID')
    return new ExtractError(`entry "${entry}" is not a valid tar entry (${message}): create the archive with tar czf`, entry);
  if (tarCode === 'TAR_BAD_ARCHIVE' && /truncated/i.test(message))
    return new ExtractError(`the archive is truncated (in "${lastName}")`, lastName);
  const where = lastName === START ? '' : `, after "${lastName}"`;
  if (tarCode === 'TAR_BAD_ARCHIVE' || tarCode === 'TAR_ENTRY_INVALID') {
    return new ExtractError(`the archive is not a valid tar file (${message}${where}): create it with tar czf`);
  }
  if (tarCode) return new ExtractError(`the archive could not be read as tar (${message}${where})`);
  return err;
}
