/**
 * One entry of an uploaded archive as both formats are read into it (tar-entries.ts,
 * zip-entries.ts), and the policy applied over such entries: counted and sized against the
 * limits, then written by SafeTree, which refuses every unsafe path, link or kind. The
 * libraries that read the formats only describe entries; they never decide what is written.
 */
import {ExtractError, type Budget} from './extract-limits';
import type {SafeTree} from './safe-tree';

/** An entry as an archive describes it, before any check. */
export interface ArchiveEntry {
  /** The path exactly as the archive spells it (`../x`, `/etc/x` and `a\b` included). */
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  /** For `other`: what it is (FIFO, character device, ...), for the refusal. */
  kind?: string;
  mode: number;
  /** For a file: the bytes its header says it holds (checked against what it does hold); 0 otherwise. */
  size: number;
  /** Symlink target (relative to the link's folder), or hard link target (relative to the archive root). */
  linkTarget?: string;
  /** A file's bytes. Read at most once, and before the next entry is asked for; left unread, they are skipped. */
  content(): AsyncIterable<Buffer>;
}

/** Counts bytes as a decompressor produces them, and throws once a limit is passed (Budget.expanded). */
export type Meter = (bytes: number, entry: string) => void;

/**
 * Writes `entries` into `tree`, in order: each one counts against `budget` and a file's
 * declared size is checked before any byte of it is written, then SafeTree decides whether the
 * entry may exist at all. Throws ExtractError at the first refusal.
 */
export async function extractEntries(entries: AsyncIterable<ArchiveEntry>, tree: SafeTree, budget: Budget): Promise<void> {
  for await (const entry of entries) {
    const {name} = entry;
    budget.entry(name);
    if (entry.type === 'file') {
      if (!Number.isSafeInteger(entry.size) || entry.size < 0) throw new ExtractError(`entry "${name}" has an invalid size`, name);
      budget.declare(entry.size, name);
    }
    const writer = await tree.add(entry);
    if (!writer) continue;
    let written = 0;
    try {
      for await (const chunk of entry.content()) {
        written += chunk.length;
        // The declared size is what the early check used, so it must be what comes out.
        if (written > entry.size) throw new ExtractError(`entry "${name}" holds more than the ${entry.size} bytes its header says`, name);
        await writer.write(chunk);
      }
    } finally {
      await writer.end();
    }
    if (written !== entry.size)
      throw new ExtractError(`entry "${name}" holds ${written} bytes, not the ${entry.size} its header says`, name);
  }
}
