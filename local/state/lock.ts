/**
 * One local stack per state folder: `.dropdeploy/lock` names the process that runs it. A second
 * stack in the same folder refuses to start, naming that process; a lock left by a stack that
 * died (its pid no longer running, or running another program since) is taken over.
 */
import {randomUUID} from 'node:crypto';
import {linkSync, readFileSync, renameSync, unlinkSync} from 'node:fs';
import {join} from 'node:path';
import {writeFileAtomic} from './state-file';

/** What the lock file says. */
export interface LockRecord {
  pid: number;
  /** The process's start time in clock ticks since boot (Linux /proc/<pid>/stat), to tell a reused pid apart; null elsewhere. */
  startTime: string | null;
  /** When the stack started (ISO 8601), for the message a second stack prints. */
  startedAt: string;
  /** Tells this stack's lock from a lock another stack wrote after taking it over. */
  token: string;
}

/** What is known about the process a lock names now. */
export interface ProcessProbe {
  alive: boolean;
  /** Its start time now, when it is alive and that can be read. */
  startTime?: string | null;
}

/** Whether a lock is held, or can be taken over and why. */
export type LockVerdict = {held: true} | {held: false; reason: string};

/** A second stack in a folder whose lock is held: names the running stack's process. */
export class StackLockedError extends Error {
  constructor(
    readonly root: string,
    readonly holder: LockRecord,
  ) {
    super(
      `another dropdeploy local stack is already running in ${root} (pid ${holder.pid}, started ${holder.startedAt}): ` +
        `stop it first (Ctrl-C in its terminal, or kill ${holder.pid}), or give this one another folder with DROPDEPLOY_LOCAL_DIR`,
    );
    this.name = 'StackLockedError';
  }
}

/** Decides from the lock and a probe of its process whether another stack holds the folder. Pure. */
export function lockVerdict(record: LockRecord | undefined, probe: ProcessProbe | undefined): LockVerdict {
  if (!record) return {held: false, reason: 'the lock file is unreadable'};
  if (!probe?.alive) return {held: false, reason: `the stack that held it (pid ${record.pid}) is no longer running`};
  if (record.startTime && probe.startTime && record.startTime !== probe.startTime) {
    return {held: false, reason: `pid ${record.pid} is now another process, started after the stack that held it ended`};
  }
  return {held: true};
}

/** Parses a lock file's text; undefined when it is not a lock record. Pure. */
export function parseLock(text: string): LockRecord | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockRecord>;
    if (!Number.isInteger(v.pid) || (v.pid ?? 0) <= 0 || typeof v.token !== 'string' || typeof v.startedAt !== 'string') return undefined;
    return {pid: v.pid!, startTime: typeof v.startTime === 'string' ? v.startTime : null, startedAt: v.startedAt, token: v.token};
  } catch {
    return undefined;
  }
}

/** The start time of a process from `/proc/<pid>/stat` (field 22); null where there is no /proc. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function probe(pid: number): ProcessProbe {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it runs, as another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return {alive: false};
  }
  return {alive: true, startTime: processStartTime(pid)};
}

/** A held lock. */
export interface StackLock {
  readonly record: LockRecord;
  /** Why an earlier lock was taken over, when one was. */
  readonly tookOver?: string;
  /** Removes the lock file if it is still this stack's. */
  release(): void;
}

/**
 * Takes the folder's lock for this process, or throws {@link StackLockedError}. The lock file
 * appears whole or not at all (written aside, then hard-linked into place, which fails if one
 * exists).
 */
export function acquireStackLock(root: string): StackLock {
  const file = join(root, 'lock');
  const record: LockRecord = {
    pid: process.pid,
    startTime: processStartTime(process.pid),
    startedAt: new Date().toISOString(),
    token: randomUUID(),
  };
  const tmp = `${file}.${record.token}.tmp`;
  writeFileAtomic(tmp, JSON.stringify(record) + '\n');
  let tookOver: string | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
      }
      const held = readLock(file);
      if (held === 'gone') continue;
      const verdict = lockVerdict(held, held && probe(held.pid));
      if (verdict.held) throw new StackLockedError(root, held!);
      tookOver = verdict.reason;
      // Renamed rather than deleted, so two stacks taking over at once cannot both remove the file.
      try {
        renameSync(file, `${file}.stale`);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
  } finally {
    unlinkSync(tmp);
  }
  return {
    record,
    tookOver,
    release() {
      const now = readLock(file);
      if (now !== 'gone' && now?.token === record.token) unlinkSync(file);
    },
  };
}

function readLock(file: string): LockRecord | undefined | 'gone' {
  try {
    return parseLock(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw err;
  }
}
