import {accessSync, constants, existsSync, mkdirSync, readFileSync, statSync} from 'node:fs';
import {join} from 'node:path';
import type {LocalRegistry} from '../build/registry';
import {answersHttp, freePort} from '../ports';
import {containerArgv, secretId, secretProblem} from './container-command';
import {containerLaunch, type LaunchHost} from './container-launch';
import {RevisionProcess, type LaunchSpec} from './revision-process';
import {containerFailedMessage, type RevisionReadiness, type RevisionRunner, type RevisionToStart} from './revision-runner';

/** Options of {@link createProcessRevisionRunner}. */
export interface ProcessRevisionRunnerOptions {
  /** Where the images that revisions name are resolved. */
  registry: LocalRegistry;
  /** One `<revision id>.log` per revision is written here. */
  logDir: string;
  /**
   * Where env values from Secret Manager are read: the file named after the secret holds its
   * value. Without it a revision that names a secret fails to start.
   */
  secretsDir?: string;
  /** How long a new revision has to answer HTTP before it counts as failed; default 30 s. */
  startupTimeoutMs?: number;
  /** How long a revision that lost its traffic keeps running for requests in flight; default 10 s. */
  retireAfterMs?: number;
  /** Time between SIGTERM and SIGKILL when stopping; default 3 s. */
  killGraceMs?: number;
}

/** A {@link RevisionRunner} that runs each revision as a local process tree. */
export interface ProcessRevisionRunner extends RevisionRunner {
  stop(revisionId: string): Promise<void>;
  /** Starts a ready revision whose process exited (crashed) again, on the same port; resolves once it answers or failed. */
  wake(revisionId: string): Promise<void>;
  /** Stops the revision after `retireAfterMs`, as Cloud Run scales a revision without traffic to zero. */
  retire(revisionId: string): void;
  /** The last lines the revision's process wrote (stdout and stderr), also after it ended. */
  logOf(revisionId: string): string;
  /** The log file of a revision. */
  logFileOf(revisionId: string): string;
  /** The pid (= process group id) of a revision's running process. */
  pidOf(revisionId: string): number | undefined;
  /** Stops every revision it runs. */
  stopAll(): Promise<void>;
}

const TAIL_IN_MESSAGE = 20;

/** This machine, standing in for a container: the host's own Node (not whichever `node` PATH finds first), its PATH, its files. */
const HOST: LaunchHost = {
  nodePath: process.execPath,
  path: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
  exists: existsSync,
  isFile: (path) => statSync(path, {throwIfNoEntry: false})?.isFile() ?? false,
  isExecutable: (path) => {
    try {
      accessSync(path, constants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  },
};
// A local process listens within tens of ms of its start: look often, so traffic moves to it as soon
// as Cloud Run's default startup probe (the port answers) would let it. Each look is one connect.
const POLL_MS = 10;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs revisions as real processes: the image's entrypoint in its rootfs, on a free loopback
 * port, ready once it answers HTTP on `/`. Cloud Run's reserved variables (PORT, K_SERVICE,
 * K_REVISION, K_CONFIGURATION) are set the way the platform sets them.
 */
export function createProcessRevisionRunner(opts: ProcessRevisionRunnerOptions): ProcessRevisionRunner {
  const startupTimeoutMs = opts.startupTimeoutMs ?? 30_000;
  const retireAfterMs = opts.retireAfterMs ?? 10_000;
  const killGraceMs = opts.killGraceMs ?? 3_000;
  const running = new Map<string, RevisionProcess>();
  const ended = new Map<string, RevisionProcess>();
  const retiring = new Map<string, NodeJS.Timeout>();
  /** How each ready revision was started, so that wake() can start it again after it exited. */
  const launches = new Map<string, {launch: LaunchSpec; port: number}>();
  const waking = new Map<string, Promise<unknown>>();
  mkdirSync(opts.logDir, {recursive: true});
  const logFileOf = (id: string) => join(opts.logDir, `${id}.log`);

  // Detached children outlive their parent; a stack that exits without stopping them would leak them.
  const killOnExit = () => running.forEach((proc) => proc.killNow());
  process.on('exit', killOnExit);

  async function stop(id: string): Promise<void> {
    clearTimeout(retiring.get(id));
    retiring.delete(id);
    launches.delete(id); // stopped on purpose: not started again by a request
    await waking.get(id);
    const proc = running.get(id);
    if (!proc) return;
    running.delete(id);
    ended.set(id, proc);
    await proc.kill(killGraceMs);
  }

  async function start(rev: RevisionToStart): Promise<RevisionReadiness> {
    // Its name here (processes, logs): the id, qualified by its region outside the emulator's home.
    const id = rev.id ?? rev.name;
    await stop(id);
    const image = opts.registry.resolve(rev.image);
    if (!image) {
      return {
        ready: false,
        message:
          `Revision '${rev.name}' is not ready and cannot serve traffic. Image '${rev.image}' not found: ` +
          `it is not in the local registry at ${opts.registry.root}. Build it locally first.`,
      };
    }
    const [command, ...args] = containerArgv(image.config, rev);
    if (!command) {
      return {
        ready: false,
        message:
          `Revision '${rev.name}' is not ready and cannot serve traffic. The container has no command: image ` +
          `'${rev.image}' has no ENTRYPOINT or CMD and the service sets no command.`,
      };
    }
    const secrets = readSecrets(rev, opts.secretsDir);
    if ('problem' in secrets) return {ready: false, message: secrets.problem};
    const port = await freePort();
    const reserved = {PORT: String(port), K_SERVICE: rev.service, K_REVISION: rev.name, K_CONFIGURATION: rev.service};
    const launch: LaunchSpec = {
      ...containerLaunch(image, [command, ...args], {...rev.env, ...secrets.env}, reserved, HOST),
      logFile: logFileOf(id),
    };
    const {proc, failure} = await boot(id, launch, port);
    if (!failure) {
      launches.set(id, {launch, port});
      return {ready: true, url: `http://127.0.0.1:${port}`};
    }
    const tail = proc.tail(TAIL_IN_MESSAGE);
    const log = tail ? `Last lines of its log (${proc.spec.logFile}):\n${tail}` : `Its log is empty (${proc.spec.logFile}).`;
    return {ready: false, message: `${containerFailedMessage(rev.name, port)}\nThe container ${failure}.\n${log}`};
  }

  /** Starts a revision's process and waits until it answers HTTP; a process that does not is stopped. */
  async function boot(id: string, launch: LaunchSpec, port: number): Promise<{proc: RevisionProcess; failure?: string}> {
    const proc = new RevisionProcess(launch);
    running.set(id, proc);
    // A revision that exits is no longer running (until wake() starts it again); what it spawned goes too.
    void proc.ended.then(() => {
      if (running.get(id) !== proc) return;
      running.delete(id);
      ended.set(id, proc);
      void proc.kill(killGraceMs);
    });
    const failure = await waitUntilReady(proc, port, startupTimeoutMs);
    if (failure) {
      if (running.get(id) === proc) running.delete(id);
      ended.set(id, proc);
      await proc.kill(killGraceMs); // what it spawned may outlive it
    }
    return {proc, failure};
  }

  /** Starts a ready revision whose process has exited again, on its port, as Cloud Run replaces a crashed instance. */
  async function wake(id: string): Promise<void> {
    const known = launches.get(id);
    if (!known || running.has(id)) return;
    let pending = waking.get(id);
    if (!pending) {
      pending = boot(id, known.launch, known.port).then(() => waking.delete(id));
      waking.set(id, pending);
    }
    await pending;
  }

  return {
    start,
    stop,
    wake,
    retire(id) {
      if (!running.has(id)) launches.delete(id); // exited already: nothing to wait for, nothing to wake
      if (!running.has(id) || retiring.has(id)) return;
      retiring.set(id, setTimeout(() => void stop(id), retireAfterMs).unref());
    },
    logOf: (id) => (running.get(id) ?? ended.get(id))?.tail() ?? '',
    logFileOf,
    pidOf: (id) => running.get(id)?.pid,
    async stopAll() {
      await Promise.all([...new Set([...running.keys(), ...retiring.keys()])].map(stop));
      process.off('exit', killOnExit);
    },
  };
}

/** The values of the revision's env vars from secrets, read from `<secretsDir>/<secret id>`; or why one cannot be. */
function readSecrets(rev: RevisionToStart, secretsDir: string | undefined): {env: Record<string, string>} | {problem: string} {
  const env: Record<string, string> = {};
  for (const ref of rev.secretEnv) {
    const id = secretId(ref.secret);
    const file = id && secretsDir ? join(secretsDir, id) : undefined;
    const value = file === undefined ? undefined : readIfPresent(file);
    if (value === undefined) return {problem: secretProblem(rev.name, ref, file)};
    env[ref.name] = value;
  }
  return {env};
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Polls until the process answers HTTP; otherwise says why it is not ready (it exited, or the timeout passed). */
async function waitUntilReady(proc: RevisionProcess, port: number, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const outcome = await Promise.race([proc.ended.then((how) => ({how})), answersHttp(port, deadline - Date.now()).then((ok) => ({ok}))]);
    if ('how' in outcome) return outcome.how;
    if (outcome.ok) return undefined;
    if (Date.now() >= deadline) return `did not answer HTTP on port ${port} within ${timeoutMs} ms`;
    await sleep(POLL_MS);
  }
}
