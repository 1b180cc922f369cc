/**
 * Starts and stops the official Pub/Sub and Firestore emulators (gcloud) on free loopback
 * ports. Each runs in its own process group, because stopping `gcloud` alone leaves its Java
 * child holding the port.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {freePort, waitPortFree} from './ports';

/** A running emulator. */
export interface RunningEmulator {
  name: string;
  /** host:port, as PUBSUB_EMULATOR_HOST / FIRESTORE_EMULATOR_HOST want it. */
  host: string;
  /** The process group of gcloud and its Java child (benchmarks read its CPU time). */
  processGroup: number;
  stop(): Promise<void>;
}

/** Why the emulators cannot run here (gcloud or Java missing), with what to install; undefined when they can. */
export function emulatorPrerequisiteProblem(): string | undefined {
  const gcloud = spawnSync('gcloud', ['--version'], {encoding: 'utf8'});
  if (gcloud.error || gcloud.status !== 0) {
    return (
      'the gcloud CLI is not on PATH: install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install) ' +
      'with the components beta, pubsub-emulator and cloud-firestore-emulator'
    );
  }
  const java = spawnSync('java', ['-version'], {encoding: 'utf8'});
  if (java.error || java.status !== 0)
    return 'Java is not on PATH: the emulators need a Java 11+ runtime (Debian: apt-get install openjdk-17-jre-headless)';
  return undefined;
}

async function waitReady(url: string, child: ChildProcess, name: string, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the ${name} emulator exited with code ${child.exitCode}:\n${output()}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the ${name} emulator did not answer on ${url} within ${timeoutMs / 1000}s:\n${output()}`);
}

function killGroup(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.pid === undefined) return resolve();
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      // The group may still hold the Java child for a moment after gcloud exits.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
      resolve();
    });
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      resolve();
    }
  });
}

async function start(name: string, args: string[], timeoutMs: number): Promise<RunningEmulator> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const child = spawn('gcloud', [...args, `--host-port=${host}`], {detached: true, stdio: ['ignore', 'pipe', 'pipe']});
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  try {
    await waitReady(`http://${host}/`, child, name, () => out, timeoutMs);
  } catch (err) {
    await killGroup(child);
    throw err;
  }
  return {
    name,
    host,
    processGroup: child.pid!,
    stop: async () => {
      await killGroup(child);
      await waitPortFree(port);
    },
  };
}

/** Starts the Pub/Sub emulator. */
export function startPubSubEmulator(projectId: string, timeoutMs = 60_000): Promise<RunningEmulator> {
  return start('Pub/Sub', ['beta', 'emulators', 'pubsub', 'start', `--project=${projectId}`, '--quiet'], timeoutMs);
}

/** Options of {@link startFirestoreEmulator}. */
export interface FirestoreEmulatorOptions {
  timeoutMs?: number;
  /** An export's `.overall_export_metadata` file to load at start (`--import-data`). */
  importData?: string;
}

/** Starts the Firestore emulator, empty or with the data of an earlier export. */
export function startFirestoreEmulator(opts: FirestoreEmulatorOptions = {}): Promise<RunningEmulator> {
  const args = ['emulators', 'firestore', 'start', '--quiet', ...(opts.importData ? [`--import-data=${opts.importData}`] : [])];
  return start('Firestore', args, opts.timeoutMs ?? 60_000);
}

/**
 * Client options that point @google-cloud/pubsub at the emulator at `host` without touching
 * process.env: insecure gRPC, and a universe domain given so the auth library never probes
 * the metadata server (the MetadataLookupWarning it would print).
 */
export function pubsubEmulatorOptions(
  host: string,
  projectId: string,
): {projectId: string; apiEndpoint: string; emulatorMode: true; universeDomain: string} {
  return {projectId, apiEndpoint: host, emulatorMode: true, universeDomain: 'googleapis.com'};
}
