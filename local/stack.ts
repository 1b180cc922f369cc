/**
 * The whole pipeline on one machine: the official Pub/Sub and Firestore emulators, the local
 * Cloud Build (with the local builder) and Cloud Run (with revisions as processes) gRPC
 * emulators, the controller's three functions run by the Functions Framework with the same code
 * as on Google Cloud (the reconciler called on a timer, as Cloud Scheduler calls it), the
 * bucket folder, and a status subscriber. `npm start` and the
 * end-to-end tests both use this.
 */
import {mkdirSync, mkdtempSync, renameSync, writeFileSync} from 'node:fs';
import {rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {PubSub, type Message, type Subscription} from '@google-cloud/pubsub';
import {BucketWatcher} from './bucket/watcher';
import {startStorageApi} from './bucket/storage-api';
import type {StoredObject} from './bucket/object-store';
import {BuildLogs} from './build/build-log';
import {createLocalBuilder} from './build/local-builder';
import {startLogServer, type LogServer} from './build/log-server';
import {CloudBuildEmulator, publishToCloudBuildsTopic} from './cloud-build/emulator';
import {CloudRunEmulator} from './cloud-run/emulator';
import {createProcessRunner, type ProcessRunner} from './cloud-run/process-runner';
import {ServiceRouter, servingRevisionUrl} from './cloud-run/router';
import {startFunction, type RunningFunction} from './functions';
import {emulatorPrerequisiteProblem, pubsubEmulatorOptions, startFirestoreEmulator, startPubSubEmulator} from './gcloud-emulators';
import {LocalRegistry} from './registry';

/** What `.dropdeploy/local.json` holds: every endpoint of the running stack. */
export interface LocalInfo {
  projectId: string;
  region: string;
  pubsubEmulatorHost: string;
  firestoreEmulatorHost: string;
  cloudBuildEndpoint: string;
  cloudRunEndpoint: string;
  eventUrl: string;
  apiUrl: string;
  /** The reconciler function (POST runs it once). */
  reconcileUrl: string;
  bucket: string;
  bucketDir: string;
  statusTopic: string;
  buildLogsUrl: string;
  /** The local bucket's Cloud Storage JSON API (object metadata). */
  storageEndpoint: string;
  pid: number;
}

/** Options of {@link LocalStack.start}. */
export interface LocalStackOptions {
  /** The state folder (`.dropdeploy/` for npm start, a temp folder in tests). */
  root: string;
  /** Where the drop folder is; default `<root>/bucket`. */
  bucketDir?: string;
  /** Called with each status message as it arrives. */
  onStatus?: (m: Message) => void;
  /** Called with each log line of the controller and the stack. */
  onLog?: (line: string) => void;
  /** Also deliver each upload as a GCS Pub/Sub notification (topic `dropdeploy-notifications`). */
  notifications?: boolean;
  /** Startup timeout of revisions. */
  startupTimeoutMs?: number;
  /** Seconds between reconcile runs (Cloud Scheduler runs it every minute); 0: never. Default 10. */
  reconcileSeconds?: number;
  /** Controller settings on top of the stack's own (tests). */
  env?: Record<string, string>;
}

const PROJECT = 'dropdeploy-local';
const REGION = 'us-central1';
const BUCKET = 'local-sources';
const STATUS_TOPIC = 'dropdeploy-status';

/** A running local stack. */
export class LocalStack {
  private constructor(readonly info: LocalInfo, private readonly stops: Array<() => Promise<unknown>>) {}

  /** Why the stack cannot start here, with what to install; undefined when it can. */
  static prerequisiteProblem(): string | undefined {
    return emulatorPrerequisiteProblem();
  }

  /** Starts everything; on any failure stops what was started and rethrows. */
  static async start(opts: LocalStackOptions): Promise<LocalStack> {
    const stops: Array<() => Promise<unknown>> = [];
    const log = (line: string) => opts.onLog?.(line);
    try {
      const dirs = {bucket: opts.bucketDir ?? join(opts.root, 'bucket'), store: join(opts.root, 'store'), registry: join(opts.root, 'registry'),
        logs: join(opts.root, 'logs')};
      for (const d of Object.values(dirs)) mkdirSync(d, {recursive: true});
      // Builds run outside the repository: under `.dropdeploy/` npm and node would find dropdeploy's own node_modules.
      const work = mkdtempSync(join(tmpdir(), 'dropdeploy-builds-'));
      stops.push(() => rm(work, {recursive: true, force: true}));

      const [pubsubEmu, firestoreEmu] = await Promise.all([startPubSubEmulator(PROJECT), startFirestoreEmulator()]);
      stops.push(() => pubsubEmu.stop(), () => firestoreEmu.stop());
      const pubsub = new PubSub(pubsubEmulatorOptions(pubsubEmu.host, PROJECT));
      stops.unshift(() => pubsub.close());
      const topics = await Promise.all([STATUS_TOPIC, 'cloud-builds', 'dropdeploy-notifications'].map(async (t) => (await pubsub.createTopic(t))[0]));
      const [statusTopic, buildsTopic, notificationsTopic] = topics;

      const storageApi = await startStorageApi(dirs.store, BUCKET);
      stops.unshift(() => storageApi.close());
      const registry = new LocalRegistry(dirs.registry);
      const logs = new BuildLogs();
      const logServer: LogServer = await startLogServer(logs);
      stops.unshift(() => logServer.close());
      const builder = createLocalBuilder({storeRoot: dirs.store, bucket: BUCKET, registry, workRoot: work, logs});
      const publishBuild = publishToCloudBuildsTopic(buildsTopic);
      const cloudBuild = new CloudBuildEmulator({runner: builder, logBaseUrl: logServer.url, onStatus: (b) => {
        // CancelBuild only changes the status; the builder must also stop the build's processes.
        if (b.status === 'CANCELLED') builder.cancel(b.id);
        return publishBuild(b);
      }});
      const runner: ProcessRunner = createProcessRunner({registry, logDir: dirs.logs, startupTimeoutMs: opts.startupTimeoutMs});
      const router: ServiceRouter = new ServiceRouter({target: (s) => servingRevisionUrl(cloudRun, s)});
      const cloudRun: CloudRunEmulator = new CloudRunEmulator({runner, serviceUri: ({service}) => router.urlFor(service)});
      const [buildPort, runPort] = await Promise.all([cloudBuild.start(), cloudRun.start()]);
      stops.unshift(() => cloudBuild.stop(), async () => { await cloudRun.stop(); await runner.stopAll(); await router.close(); });

      const env: Record<string, string> = {
        PUBSUB_EMULATOR_HOST: pubsubEmu.host, FIRESTORE_EMULATOR_HOST: firestoreEmu.host, METADATA_SERVER_DETECTION: 'none',
        DROPDEPLOY_PROJECT: PROJECT, DROPDEPLOY_REGION: REGION, DROPDEPLOY_REPOSITORY: 'dropdeploy',
        DROPDEPLOY_STATUS_TOPIC: STATUS_TOPIC, DROPDEPLOY_BUCKETS: BUCKET,
        DROPDEPLOY_CLOUD_BUILD_ENDPOINT: `127.0.0.1:${buildPort}`, DROPDEPLOY_CLOUD_RUN_ENDPOINT: `127.0.0.1:${runPort}`,
        DROPDEPLOY_LOG_FORMAT: 'json', DROPDEPLOY_STORAGE_ENDPOINT: storageApi.url,
        // The local API listens on loopback only and has no callers to tell apart.
        DROPDEPLOY_API_AUTH: 'none',
        // Local events arrive in milliseconds: a release unmoved for 15 s has lost one.
        DROPDEPLOY_RECONCILE_GRACE_SECONDS: '15',
        ...opts.env,
      };
      const functions: RunningFunction[] = await Promise.all([
        startFunction({target: 'dropdeployEvents', env, onOutput: log}),
        startFunction({target: 'dropdeployApi', env, onOutput: log}),
        startFunction({target: 'dropdeployReconcile', env, onOutput: log}),
      ]);
      stops.unshift(...functions.map((f) => () => f.stop()));
      const [events, api, reconcile] = functions;
      const schedule = scheduleReconcile(reconcile.url, opts.reconcileSeconds ?? 10, log);
      stops.unshift(async () => schedule.stop());

      // Eventarc's Pub/Sub trigger: a push subscription on cloud-builds to the event function.
      await buildsTopic.createSubscription('dropdeploy-builds', {
        pushConfig: {pushEndpoint: `${events.url}/projects/${PROJECT}/topics/cloud-builds`}, ackDeadlineSeconds: 600,
      });
      if (opts.notifications) {
        await notificationsTopic.createSubscription('dropdeploy-notifications', {
          pushConfig: {pushEndpoint: `${events.url}/projects/${PROJECT}/topics/dropdeploy-notifications`}, ackDeadlineSeconds: 600,
        });
      }
      const [statusSub]: [Subscription, ...unknown[]] = await statusTopic.createSubscription('dropdeploy-local-printer', {enableMessageOrdering: true});
      statusSub.on('message', (m: Message) => {
        opts.onStatus?.(m);
        m.ack();
      });
      stops.unshift(() => statusSub.close());

      const watcher = new BucketWatcher({
        bucket: BUCKET, dir: dirs.bucket, storeRoot: dirs.store,
        deliver: async (o) => {
          log(`bucket: gs://${BUCKET}/${o.name} generation ${o.generation} (${o.size} bytes)`);
          void deliverFinalized(events.url, o, log);
          if (opts.notifications) {
            await notificationsTopic.publishMessage({json: o, attributes: {
              eventType: 'OBJECT_FINALIZE', bucketId: BUCKET, objectId: o.name, objectGeneration: o.generation, payloadFormat: 'JSON_API_V1',
            }});
          }
        },
        onError: (err, object) => log(`bucket: ${object}: ${(err as Error).message ?? String(err)}`),
      });
      watcher.start();
      stops.unshift(() => watcher.stop());

      const info: LocalInfo = {
        projectId: PROJECT, region: REGION, pubsubEmulatorHost: pubsubEmu.host, firestoreEmulatorHost: firestoreEmu.host,
        cloudBuildEndpoint: `127.0.0.1:${buildPort}`, cloudRunEndpoint: `127.0.0.1:${runPort}`, eventUrl: events.url, apiUrl: api.url, reconcileUrl: reconcile.url,
        bucket: BUCKET, bucketDir: dirs.bucket, statusTopic: STATUS_TOPIC, buildLogsUrl: logServer.url, storageEndpoint: storageApi.url, pid: process.pid,
      };
      const file = join(opts.root, 'local.json');
      writeFileSync(`${file}.tmp`, JSON.stringify(info, null, 2) + '\n');
      renameSync(`${file}.tmp`, file);
      return new LocalStack(info, stops);
    } catch (err) {
      await stopAll(stops);
      throw err;
    }
  }

  /** Stops every child and server; frees every port. */
  async stop(): Promise<void> {
    await stopAll(this.stops);
  }
}

async function stopAll(stops: Array<() => Promise<unknown>>): Promise<void> {
  for (const stop of stops.splice(0)) await stop().catch(() => undefined);
}

/** Calls the reconciler every `seconds`, as Cloud Scheduler does; a run still going is not started again. */
function scheduleReconcile(url: string, seconds: number, log: (line: string) => void): {stop(): Promise<void>} {
  if (seconds <= 0) return {stop: async () => undefined};
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= fetch(url, {method: 'POST'})
      .then(async (res) => { await res.arrayBuffer(); if (!res.ok) log(`scheduler: the reconcile run answered ${res.status}`); })
      .catch((err: unknown) => log(`scheduler: the reconcile run failed: ${(err as Error).message}`))
      .finally(() => { running = undefined; });
  }, seconds * 1000);
  timer.unref();
  return {stop: async () => { clearInterval(timer); await running; }};
}

/** POSTs the `finalized` CloudEvent as Eventarc does, retrying with backoff while the function fails. */
async function deliverFinalized(url: string, o: StoredObject, log: (line: string) => void): Promise<void> {
  const body = JSON.stringify(o);
  for (let attempt = 1, delay = 500; attempt <= 8; attempt++, delay = Math.min(delay * 2, 10_000)) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': `${o.bucket}/${o.name}/${o.generation}`,
          'ce-source': `//storage.googleapis.com/projects/_/buckets/${o.bucket}`, 'ce-type': 'google.cloud.storage.object.v1.finalized',
          'ce-subject': `objects/${o.name}`, 'ce-time': o.updated,
        },
        body,
      });
      await res.arrayBuffer();
      if (res.ok) return;
      log(`eventarc: delivery of ${o.name} answered ${res.status}; retrying in ${delay} ms (attempt ${attempt})`);
    } catch (err) {
      log(`eventarc: delivery of ${o.name} failed: ${(err as Error).message}; retrying in ${delay} ms`);
    }
    await new Promise((r) => setTimeout(r, delay));
  }
  log(`eventarc: gave up delivering ${o.name} after 8 attempts`);
}
