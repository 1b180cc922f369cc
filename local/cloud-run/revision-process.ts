import {spawn, type ChildProcess} from 'node:child_process';
import {createWriteStream, existsSync, readdirSync, readFileSync, type WriteStream} from 'node:fs';

/** How to launch one revision's container as a local process. */
export interface LaunchSpec {
  /** argv; `argv[0]` is looked up on `env.PATH`. */
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** Where stdout and stderr are appended, interleaved as they arrive. */
  logFile: string;
}

const KEPT_LINES = 200;
// A leader that exits while a grandchild still holds its stdout open never emits 'close';
// after this long we stop waiting for the rest of its output.
const DRAIN_MS = 250;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One revision's process tree: started detached in its own process group so that stopping
 * it also stops whatever it spawned, with its output in a log file and the last lines in memory.
 */
export class RevisionProcess {
  /** Resolves once the process has exited, saying how (e.g. `exited with code 1`). */
  readonly ended: Promise<string>;
  private readonly child: ChildProcess;
  private readonly log: WriteStream;
  private readonly lines: string[] = [];
  private partial = '';
  private done = false;

  constructor(readonly spec: LaunchSpec) {
    this.log = createWriteStream(spec.logFile, {flags: 'a'});
    this.child = spawn(spec.argv[0], spec.argv.slice(1), {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (chunk: Buffer) => this.capture(chunk));
    this.child.stderr!.on('data', (chunk: Buffer) => this.capture(chunk));
    this.ended = new Promise<string>((resolve) => {
      const finish = (how: string) => {
        if (this.done) return;
        this.done = true;
        this.log.end();
        resolve(how);
      };
      this.child.on('error', (err) => finish(`could not be started: ${err.message}`));
      this.child.on('exit', (code, signal) => setTimeout(() => finish(describeExit(code, signal)), DRAIN_MS).unref());
      this.child.on('close', (code, signal) => finish(describeExit(code, signal)));
    });
  }

  /** The process (and process group) id; undefined if it could not be spawned. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether it has exited (and its output was drained). */
  get exited(): boolean {
    return this.done;
  }

  /** The last `n` lines it wrote (stdout and stderr interleaved). */
  tail(n = KEPT_LINES): string {
    const lines = this.partial ? [...this.lines, this.partial] : this.lines;
    return lines.slice(-n).join('\n');
  }

  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once the group is gone. */
  async kill(graceMs: number): Promise<void> {
    if (!this.signal('SIGTERM')) return;
    if (!(await this.groupGone(graceMs))) {
      this.signal('SIGKILL');
      await this.groupGone(1000);
    }
    await Promise.race([this.ended, sleep(DRAIN_MS)]);
  }

  /** SIGKILL to the whole group at once, for when the host process is exiting. */
  killNow(): void {
    this.signal('SIGKILL');
  }

  private signal(sig: NodeJS.Signals | 0): boolean {
    if (this.child.pid === undefined) return false;
    try {
      process.kill(-this.child.pid, sig);
      return true;
    } catch (err) {
      // EPERM means the group exists but is not ours to signal; ESRCH that it is gone.
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }

  private async groupGone(withinMs: number): Promise<boolean> {
    const deadline = Date.now() + withinMs;
    while (this.signal(0) && groupHasLiveMembers(this.child.pid!)) {
      if (Date.now() >= deadline) return false;
      await sleep(25);
    }
    return true;
  }

  private capture(chunk: Buffer): void {
    this.log.write(chunk);
    const parts = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = parts.pop() ?? '';
    this.lines.push(...parts);
    if (this.lines.length > KEPT_LINES) this.lines.splice(0, this.lines.length - KEPT_LINES);
  }
}

/**
 * Whether a process group still has a member that is not a zombie. Orphaned grandchildren are
 * reaped by init, which in some sandboxes does so only every second or so: a zombie is already
 * dead and holds nothing, so waiting for it would only slow every stop down. Without /proc
 * (not Linux), any member counts.
 */
function groupHasLiveMembers(pgid: number): boolean {
  if (!existsSync('/proc/self/stat')) return true;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was terminated by signal ${signal}` : `exited with code ${code ?? 'unknown'}`;
}
