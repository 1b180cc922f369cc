/**
 * The dependency cache's decisions: the content-addressed key of an install, and which entries
 * to evict (least recently used first) to fit the size budget.
 */
import {createHash} from 'node:crypto';

/**
 * The key of an install: the lockfile's bytes and everything else that changes what the install
 * produces (package manager and version, install flags and NODE_ENV, Node.js major, the
 * dependency fields of package.json), as the plan's `cache.inputs` lists them.
 */
export function cacheKey(lockfile: Uint8Array, inputs: string): string {
  return createHash('sha256').update(lockfile).update('\0').update(inputs).digest('hex');
}

/** One stored entry as the eviction sees it. */
export interface CacheEntryInfo {
  key: string;
  bytes: number;
  /** When a build last stored or reused it (ms since the epoch). */
  lastUsedMs: number;
}

/**
 * The keys to evict, oldest use first, until the rest fit in `budgetBytes`; never one in `keep`
 * (what a running build just stored or reused), even if the rest still do not fit.
 */
export function chooseEvictions(entries: CacheEntryInfo[], budgetBytes: number, keep: ReadonlySet<string>): string[] {
  let total = entries.reduce((sum, e) => sum + e.bytes, 0);
  const out: string[] = [];
  const oldestFirst = [...entries].sort((a, b) => a.lastUsedMs - b.lastUsedMs || a.key.localeCompare(b.key));
  for (const e of oldestFirst) {
    if (total <= budgetBytes) break;
    if (keep.has(e.key)) continue;
    out.push(e.key);
    total -= e.bytes;
  }
  return out;
}
