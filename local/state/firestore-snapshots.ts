/**
 * Keeps the Firestore emulator's data across restarts of the local stack. The emulator's own
 * `--export-on-exit` does not export when its Java process gets SIGINT or SIGTERM (checked with
 * cloud-firestore-emulator 1.19.9), so the stack exports through the emulator's REST endpoint
 * `POST /emulator/v1/projects/<p>:export` (the one the Firebase CLI uses): every few seconds
 * while running, soon after each change the stack sees (a release's status event), and once
 * more at a clean stop. Each export goes to a new folder and becomes
 * current only when `CURRENT` (written atomically) names it, so a stack killed mid-export keeps
 * the previous one whole. The next start imports the current one (`--import-data`).
 */
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs';
import {join, relative} from 'node:path';
import {StateFileError, writeFileAtomic} from './state-file';

/** Options of {@link FirestoreSnapshots.start}. */
export interface SnapshotSchedule {
  /** host:port of the running emulator. */
  host: string;
  projectId: string;
  /** Between exports; default 2000 ms. */
  intervalMs?: number;
  /** Told of a failed export (the next one tries again). */
  onError?: (err: Error) => void;
}

/** The saved exports of the Firestore emulator in one folder. */
export class FirestoreSnapshots {
  private timer: NodeJS.Timeout | undefined;
  private soonTimer: NodeJS.Timeout | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private schedule: SnapshotSchedule | undefined;
  private seq = 0;

  constructor(readonly dir: string) {}

  /**
   * The export to import at start (its `.overall_export_metadata` file), or undefined when none
   * was saved; throws {@link StateFileError} when `CURRENT` names an export that is not there.
   * Removes what a stack killed mid-export left behind.
   */
  importPath(): string | undefined {
    const name = this.current();
    if (name === undefined) return undefined;
    const metadata = join(this.dir, name, `${name}.overall_export_metadata`);
    if (!existsSync(metadata))
      throw new StateFileError(join(this.dir, 'CURRENT'), `it names the export ${name}, but ${metadata} is missing`);
    this.removeAllBut(name);
    return metadata;
  }

  /** Exports every `intervalMs` until {@link stop}. */
  start(schedule: SnapshotSchedule): void {
    mkdirSync(this.dir, {recursive: true});
    this.schedule = schedule;
    this.timer = setInterval(() => {
      this.save().catch((err: unknown) => schedule.onError?.(err as Error));
    }, schedule.intervalMs ?? 2000);
    this.timer.unref();
  }

  /** Exports now (after any export under way); resolves whether the data changed since the current export. */
  save(): Promise<'saved' | 'unchanged'> {
    const run = this.chain.then(() => this.exportOnce());
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Exports in a moment, many calls at once making one export: for a change the caller saw (a release's status event). */
  soon(delayMs = 200): void {
    const s = this.schedule;
    if (!s) return;
    this.soonTimer ??= setTimeout(() => {
      this.soonTimer = undefined;
      this.save().catch((err: unknown) => s.onError?.(err as Error));
    }, delayMs);
  }

  /** Stops the schedule and exports a last time, so a clean stop keeps everything. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.soonTimer);
    this.timer = undefined;
    this.soonTimer = undefined;
    if (this.schedule) await this.save();
    this.schedule = undefined;
  }

  private current(): string | undefined {
    try {
      const name = readFileSync(join(this.dir, 'CURRENT'), 'utf8').trim();
      if (!/^s-[\w-]+$/.test(name)) throw new StateFileError(join(this.dir, 'CURRENT'), `"${name}" is not the name of an export`);
      return name;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  private async exportOnce(): Promise<'saved' | 'unchanged'> {
    const s = this.schedule;
    if (!s) throw new Error('the Firestore snapshots were not started');
    const name = `s-${Date.now()}-${++this.seq}`;
    const res = await fetch(`http://${s.host}/emulator/v1/projects/${s.projectId}:export`, {
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({
        database: `projects/${s.projectId}/databases/(default)`,
        export_directory: this.dir,
        export_name: name,
      }),
    });
    const text = await res.text();
    if (!res.ok) {
      rmSync(join(this.dir, name), {recursive: true, force: true});
      throw new Error(`the Firestore emulator's export answered ${res.status}: ${text.trim()}`);
    }
    const previous = this.current();
    // The emulator writes the same data files for the same data: an unchanged export is dropped, CURRENT left as it is.
    if (previous && sameExport(join(this.dir, previous), join(this.dir, name))) {
      rmSync(join(this.dir, name), {recursive: true, force: true});
      return 'unchanged';
    }
    writeFileAtomic(join(this.dir, 'CURRENT'), `${name}\n`);
    this.removeAllBut(name);
    return 'saved';
  }

  private removeAllBut(name: string): void {
    for (const entry of readdirSync(this.dir)) {
      if (entry !== name && entry !== 'CURRENT' && entry.startsWith('s-')) rmSync(join(this.dir, entry), {recursive: true, force: true});
    }
  }
}

/** The data files of an export (not its metadata files, which hold its name and times), by relative path. */
function dataFiles(dir: string, root = dir): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) for (const [k, v] of dataFiles(p, root)) out.set(k, v);
    else if (!entry.endsWith('export_metadata')) out.set(relative(root, p), readFileSync(p));
  }
  return out;
}

function sameExport(a: string, b: string): boolean {
  const [fa, fb] = [dataFiles(a), dataFiles(b)];
  return fa.size === fb.size && [...fa].every(([k, v]) => fb.get(k)?.equals(v) === true);
}
