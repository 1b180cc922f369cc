/**
 * The whole pipeline on one machine: the official Pub/Sub and Firestore emulators, the local
 * Cloud Build (with the local builder) and Cloud Run (with revisions as processes) gRPC
 * emulators, the controller's three functions run by the Functions Framework with the same code
 * as on Google Cloud (the reconciler called on a timer, as Cloud Scheduler calls it), the
 * bucket folder, and a status subscriber. `npm start` and the
 * end-to-end tests both use this.
 */
import {mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync} from 'node:fs';
import {rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {PubSub, type Message, type Subscription} from '@google-cloud/pubsub';
import {deliverBuildStatus, deliverDeleted, deliverFinalized} from './bucket/eventarc-delivery';
import {BucketWatcher} from './bucket/watcher';
import {startStorageApi} from './bucket/storage-api';
import {BuildLogs} from './build/build-log';
import {createLocalBuilder} from './build/local-builder';
import {startLogServer, type LogServer} from './build/log-server';
import {CloudBuildEmulator, publishToCloudBuildsTopic} from './cloud-build/emulator';
import {CloudRunEmulator} from './cloud-run/emulator';
import {createProcessRevisionRunner, type ProcessRevisionRunner} from './cloud-run/process-revision-runner';
import {ServiceRouter} from './cloud-run/router';
import {servingTarget} from './cloud-run/serving-target';
import {RequestLog} from './cloud-run/request-log';
import {MonitoringEmulator} from './monitoring/emulator';
import {LoggingEmulator, type LoggedBuild} from './logging/emulator';
import {startRestServer, type RestServer} from './grpc/rest-server';
import {gcloudEnv} from './gcloud-env';
import {startFunction, type RunningFunction} from './functions/function-process';
import {scheduleReconcile} from './functions/scheduler';
import {
  emulatorPrerequisiteProblem,
  pubsubEmulatorOptions,
  startFirestoreEmulator,
  startPubSubEmulator,
  type RunningEmulator,
} from './gcloud-emulators';
import {LocalRegistry} from './build/registry';
import {acquireStackLock} from './state/lock';
import {removeSavedState} from './state/fresh';
import {SavedState} from './state/saved-state';
import {warmUpEmulators} from './warm-up';
import {knativeV1Routes} from './cloud-run/knative-v1';
import {startGcloudProxy} from './gcloud-proxy';
import {StateFileError} from './state/state-file';

/** What `.dropdeploy/local.json` holds: every endpoint of the running stack. */
export interface LocalInfo {
  projectId: string;
  region: string;
  pubsubEmulatorHost: string;
  firestoreEmulatorHost: string;
  cloudBuildEndpoint: string;
  cloudRunEndpoint: string;
  /** The local Cloud Monitoring API (ListTimeSeries of the local Cloud Run's request metrics). */
  monitoringEndpoint: string;
  /** The same APIs over REST (HTTP/1.1 + JSON, as gcloud and the clients' REST mode send), e.g. `http://127.0.0.1:8123`. */
  cloudBuildRestUrl: string;
  cloudRunRestUrl: string;
  monitoringRestUrl: string;
  /** The local Cloud Logging API over REST: the build logs, as `gcloud builds log` reads them. */
  loggingRestUrl: string;
  /**
   * Environment variables that point the gcloud CLI at this stack (`npm start` prints them as
   * `export` lines): endpoint overrides, project, region, token file, config folder, proxy.
   */
  gcloud: Record<string, string>;
  eventUrl: string;
  apiUrl: string;
  /** The reconciler function (POST runs it once). */
  reconcileUrl: string;
  bucket: string;
  bucketDir: string;
  statusTopic: string;
  buildLogsUrl: string;
  /** The local bucket's Cloud Storage JSON API (objects list, get, download, upload). */
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
  /**
   * Also deliver each upload as a GCS Pub/Sub notification (topic `dropdeploy-notifications`),
   * and build statuses by Eventarc's Pub/Sub trigger on `cloud-builds` (as the installer sets it
   * up) instead of Eventarc direct (`statusChanged` CloudEvents, the default: no Pub/Sub hop).
   */
  notifications?: boolean;
  /** Startup timeout of revisions. */
  startupTimeoutMs?: number;
  /** Seconds between reconcile runs (Cloud Scheduler runs it every minute); 0: never. Default 10. */
  reconcileSeconds?: number;
  /** Controller settings on top of the stack's own (tests). */
  env?: Record<string, string>;
  /** Size budget of the dependency cache (`<root>/build-cache/`); default 2 GiB. */
  buildCacheMaxBytes?: number;
  /** Empty the dependency cache before starting. */
  clearBuildCache?: boolean;
  /** Start empty: remove the saved state (releases, builds, services, stored objects, images) first; the bucket folder's files stay. */
  fresh?: boolean;
}

const PROJECT = 'dropdeploy-local';
const REGION = 'us-central1';
const BUCKET = 'local-sources';
const STATUS_TOPIC = 'dropdeploy-status';

/** What has been started so far, stopped in reverse order. */
class Started {
  readonly stops: Array<() => Promise<unknown>> = [];

  /** Registers how to stop something just started: it is stopped before everything started earlier. */
  add(...stops: Array<() => Promise<unknown>>): void {
    this.stops.unshift(...stops);
  }
}

type Log = (line: string) => void;
type Topic = ReturnType<PubSub['topic']>;
/** The event function's URL, when build statuses go to it by Eventarc direct rather than by the `cloud-builds` topic. */
type BuildEventTarget = {url?: string};

/** A running local stack. */
export class LocalStack {
  private constructor(
    readonly info: LocalInfo,
    private readonly stops: Array<() => Promise<unknown>>,
    /** The local Cloud Run, in this process: tests read its calls and script faults on it (`injectFault`). */
    readonly cloudRun: CloudRunEmulator,
  ) {}

  /** Why the stack cannot start here, with what to install; undefined when it can. */
  static prerequisiteProblem(): string | undefined {
    return emulatorPrerequisiteProblem();
  }

  /** Starts everything, step by step; on any failure stops what was started and rethrows. */
  static async start(opts: LocalStackOptions): Promise<LocalStack> {
    const started = new Started();
    const log: Log = (line) => opts.onLog?.(line);
    try {
      lockFolder(opts.root, log, started);
      if (opts.fresh) removeSavedState(opts.root, bucketDirOf(opts)).forEach(log);
      const dirs = makeFolders(opts, started);
      const saved = new SavedState(dirs.state);
      const google = await startGcloudEmulators(saved, log, started);
      // Meanwhile the rest starts; waited for before the first drop can come.
      const warm = warmUpEmulators({firestore: google.firestoreHost, pubsub: google.pubsubHost});
      const storageApi = await startStorageApi(dirs.store, BUCKET);
      started.add(() => storageApi.close());
      // Where Eventarc delivers build statuses directly, once the event function listens.
      const buildEvents: BuildEventTarget = {};
      const emulators = await startBuildAndRun(dirs, {topic: google.topics.builds, eventarc: buildEvents}, saved, opts, log, started);
      const env = controllerEnv(
        {
          pubsub: google.pubsubHost,
          firestore: google.firestoreHost,
          cloudBuild: emulators.cloudBuildEndpoint,
          cloudRun: emulators.cloudRunEndpoint,
          monitoring: emulators.monitoringEndpoint,
          storage: storageApi.url,
        },
        opts.env,
      );
      const gcloud = await startGcloudSupport(opts.root, started);
      const functions = await startFunctions(env, log, started);
      if (!opts.notifications) buildEvents.url = functions.events.url;
      await subscribe(google.topics, functions.events.url, opts, started, () => saved.firestore.soon());
      await emulators.announceInterrupted();
      // Only now: a restarted stack's reconciler acts at once, and its status events need the subscriptions.
      const schedule = scheduleReconcile(functions.reconcile.url, opts.reconcileSeconds ?? 10, log);
      started.add(() => schedule.stop());
      const watcher = await watchBucket(
        dirs.bucket,
        dirs.store,
        functions.events.url,
        opts.notifications ? google.topics.notifications : undefined,
        log,
        started,
      );
      // An upload through the JSON API (gcloud storage cp) is an upload like a dropped file.
      storageApi.acceptUploads((object, file, upload) => watcher.upload(object, file, upload));
      const info: LocalInfo = {
        projectId: PROJECT,
        region: REGION,
        pubsubEmulatorHost: google.pubsubHost,
        firestoreEmulatorHost: google.firestoreHost,
        cloudBuildEndpoint: emulators.cloudBuildEndpoint,
        cloudRunEndpoint: emulators.cloudRunEndpoint,
        monitoringEndpoint: emulators.monitoringEndpoint,
        ...emulators.rest,
        gcloud: gcloudEnv({
          project: PROJECT,
          region: REGION,
          cloudBuild: emulators.rest.cloudBuildRestUrl,
          run: emulators.rest.cloudRunRestUrl,
          monitoring: emulators.rest.monitoringRestUrl,
          logging: emulators.rest.loggingRestUrl,
          storage: storageApi.url,
          ...gcloud,
        }),
        eventUrl: functions.events.url,
        apiUrl: functions.api.url,
        reconcileUrl: functions.reconcile.url,
        bucket: BUCKET,
        bucketDir: dirs.bucket,
        statusTopic: STATUS_TOPIC,
        buildLogsUrl: emulators.buildLogsUrl,
        storageEndpoint: storageApi.url,
        pid: process.pid,
      };
      await warm;
      writeLocalInfo(opts.root, info);
      return new LocalStack(info, started.stops, emulators.cloudRun);
    } catch (err) {
      await stopAll(started.stops);
      throw err;
    }
  }

  /** Stops every child and server; frees every port. */
  async stop(): Promise<void> {
    await stopAll(this.stops);
  }
}

interface Folders {
  bucket: string;
  store: string;
  registry: string;
  logs: string;
  /** The dependency cache: installs reused by rebuilds with the same lockfile (deleting it is always safe). */
  buildCache: string;
  /** What is saved between runs: Firestore exports, the Cloud Build and Cloud Run emulators' state. */
  state: string;
  /** Where builds run: outside the repository, where npm and node would find dropdeploy's own node_modules. */
  work: string;
}

function bucketDirOf(opts: LocalStackOptions): string {
  return opts.bucketDir ?? join(opts.root, 'bucket');
}

/** One stack per state folder: a second one refuses, naming the first; a dead stack's lock is taken over. */
function lockFolder(root: string, log: Log, started: Started): void {
  mkdirSync(root, {recursive: true});
  const lock = acquireStackLock(root);
  if (lock.tookOver) log(`stack: took over the lock ${join(root, 'lock')}: ${lock.tookOver}`);
  started.add(() => Promise.resolve(lock.release()));
}

function makeFolders(opts: LocalStackOptions, started: Started): Folders {
  const dirs = {
    bucket: bucketDirOf(opts),
    store: join(opts.root, 'store'),
    registry: join(opts.root, 'registry'),
    logs: join(opts.root, 'logs'),
    buildCache: join(opts.root, 'build-cache'),
    state: join(opts.root, 'state'),
  };
  if (opts.clearBuildCache) rmSync(dirs.buildCache, {recursive: true, force: true});
  for (const d of Object.values(dirs)) mkdirSync(d, {recursive: true});
  const work = mkdtempSync(join(tmpdir(), 'dropdeploy-builds-'));
  started.add(() => rm(work, {recursive: true, force: true}));
  return {...dirs, work};
}

/**
 * The official Pub/Sub and Firestore emulators, and the stack's topics. Firestore starts with
 * the releases saved by the last run, and saves them again every few seconds and at stop.
 * Pub/Sub keeps nothing: topics and subscriptions are made anew, and messages that were in
 * flight at the stop are lost; the reconciler finishes what they would have moved.
 */
async function startGcloudEmulators(
  saved: SavedState,
  log: Log,
  started: Started,
): Promise<{pubsubHost: string; firestoreHost: string; topics: {status: Topic; builds: Topic; notifications: Topic}}> {
  const importData = saved.firestoreImport;
  const firestoreStart = startFirestoreEmulator({importData}).catch((err: unknown) => {
    throw importData ? new StateFileError(importData, `the Firestore emulator could not load it (${(err as Error).message})`) : err;
  });
  const results = await Promise.allSettled([startPubSubEmulator(PROJECT), firestoreStart]);
  for (const r of results) if (r.status === 'fulfilled') started.add(() => r.value.stop());
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const [pubsubEmu, firestoreEmu] = results.map((r) => (r as PromiseFulfilledResult<RunningEmulator>).value);
  if (importData) log(`stack: Firestore starts with the releases saved at the last stop (${importData})`);
  saved.firestore.start({
    host: firestoreEmu.host,
    projectId: PROJECT,
    onError: (err) => log(`stack: saving Firestore failed (the next save tries again): ${err.message}`),
  });
  // Stopped before the emulator, after everything that writes to it: the last save has every release.
  started.add(() =>
    saved.firestore
      .stop()
      .catch((err: unknown) => log(`stack: the last save of Firestore failed, the next start has the one before: ${String(err)}`)),
  );
  const pubsub = new PubSub(pubsubEmulatorOptions(pubsubEmu.host, PROJECT));
  started.add(() => pubsub.close());
  const [status, builds, notifications] = await Promise.all(
    [STATUS_TOPIC, 'cloud-builds', 'dropdeploy-notifications'].map(async (t) => (await pubsub.createTopic(t))[0]),
  );
  return {pubsubHost: pubsubEmu.host, firestoreHost: firestoreEmu.host, topics: {status, builds, notifications}};
}

/**
 * The Cloud Build emulator with the local builder, and the Cloud Run emulator with revisions as
 * processes; both with what the last run saved (builds; services with their serving revisions
 * running again, at the same URLs where the ports are free), and saving every change.
 */
async function startBuildAndRun(
  dirs: Folders,
  buildStatus: {topic: Topic; eventarc: BuildEventTarget},
  saved: SavedState,
  opts: LocalStackOptions,
  log: Log,
  started: Started,
): Promise<{
  cloudBuildEndpoint: string;
  cloudRunEndpoint: string;
  monitoringEndpoint: string;
  rest: {cloudBuildRestUrl: string; cloudRunRestUrl: string; monitoringRestUrl: string; loggingRestUrl: string};
  buildLogsUrl: string;
  cloudRun: CloudRunEmulator;
  announceInterrupted(): Promise<void>;
}> {
  const registry = new LocalRegistry(dirs.registry);
  // Build logs are kept on disk and served at the port of the last run when it is free, so the
  // log URLs recorded on earlier builds and releases still open after a restart.
  const logs = new BuildLogs(join(dirs.logs, 'builds'));
  const logServer: LogServer = await startLogServerAt(logs, saved.builds.map((b) => portOf(b.logUrl)).find(Boolean), log);
  started.add(() => logServer.close());
  const builder = createLocalBuilder({
    storeRoot: dirs.store,
    bucket: BUCKET,
    registry,
    workRoot: dirs.work,
    logs,
    dependencyCache: {dir: dirs.buildCache, maxBytes: opts.buildCacheMaxBytes},
  });
  const warmBuilder = builder.warmUp();
  const publishBuild = publishToCloudBuildsTopic(buildStatus.topic);
  const saveError = (err: Error) => log(`stack: ${err.message}`);
  const cloudBuild: CloudBuildEmulator = new CloudBuildEmulator({
    runner: builder,
    logBaseUrl: logServer.url,
    onStatus: (b) => {
      // CancelBuild only changes the status; the builder must also stop the build's processes.
      if (b.status === 'CANCELLED') builder.cancel(b.id);
      const url = buildStatus.eventarc.url;
      if (url) void deliverBuildStatus(url, b, log);
      return publishBuild(b);
    },
    onChange: () => buildsSaver.changed(),
  });
  const buildsSaver = saved.buildsSaver(() => cloudBuild.snapshot(), saveError);
  const interrupted = cloudBuild.restore(saved.builds);
  // Env values a service takes from Secret Manager are read from <root>/secrets/<secret id>.
  const secretsDir = join(opts.root, 'secrets');
  const runner: ProcessRevisionRunner = createProcessRevisionRunner({
    registry,
    logDir: dirs.logs,
    secretsDir,
    startupTimeoutMs: opts.startupTimeoutMs,
  });
  // What the router sees of each request is what the local Monitoring API serves.
  const requests = new RequestLog();
  const router: ServiceRouter = new ServiceRouter({target: (route) => servingTarget(cloudRun, route), onRequest: (r) => requests.add(r)});
  // The stack's Monitoring API is of its own project and region; other regions' requests are not its.
  const ours = (r: {project?: string; location?: string}) => (r.project ?? PROJECT) === PROJECT && (r.location ?? REGION) === REGION;
  const monitoring = new MonitoringEmulator({
    projectId: PROJECT,
    location: REGION,
    records: (from, to) => requests.between(from, to).filter(ours),
  });
  // Any region (and project) named in a request is a region of this one emulator: a service's
  // copies in several regions are several services, each with its own URL.
  const cloudRun: CloudRunEmulator = new CloudRunEmulator({
    runner,
    home: {project: PROJECT, location: REGION},
    serviceUri: ({service, project, location}) => router.urlFor(service, undefined, {project, location}),
    tagUri: ({service, tag, project, location}) => router.tagUrlFor(service, tag, undefined, {project, location}),
    onChange: () => servicesSaver.changed(),
  });
  const servicesSaver = saved.servicesSaver(() => cloudRun.snapshot(), saveError);
  const [buildPort, runPort, monitoringPort] = await Promise.all([cloudBuild.start(), cloudRun.start(), monitoring.start()]);
  started.add(
    () => monitoring.stop(),
    () => cloudBuild.stop(),
    async () => {
      await cloudRun.stop();
      await runner.stopAll();
      await router.close();
    },
  );
  // Before the emulators stop: what stopping does to builds and revisions is not the state to come back to.
  started.add(() => {
    buildsSaver.close();
    servicesSaver.close();
    return Promise.resolve();
  });
  const rest = await startRestServers({cloudBuild, cloudRun, monitoring, logs}, started);
  await restoreServices(cloudRun, router, saved, log);
  await warmBuilder;
  return {
    rest,
    cloudBuildEndpoint: `127.0.0.1:${buildPort}`,
    cloudRunEndpoint: `127.0.0.1:${runPort}`,
    monitoringEndpoint: `127.0.0.1:${monitoringPort}`,
    buildLogsUrl: logServer.url,
    cloudRun,
    async announceInterrupted() {
      for (const id of interrupted) {
        log(`stack: build ${id} was running when the stack stopped: it ends INTERNAL_ERROR, and its status is published`);
        await cloudBuild.announce(id);
      }
    },
  };
}

/**
 * The REST face of each emulator (what gcloud sends), Cloud Run's with the v1 (Knative) routes
 * `gcloud run` speaks beside v2, and the local Cloud Logging API over the build logs, REST only:
 * `gcloud builds log` reads a Cloud-Logging-only build's log there.
 */
async function startRestServers(
  emulators: {cloudBuild: CloudBuildEmulator; cloudRun: CloudRunEmulator; monitoring: MonitoringEmulator; logs: BuildLogs},
  started: Started,
): Promise<{cloudBuildRestUrl: string; cloudRunRestUrl: string; monitoringRestUrl: string; loggingRestUrl: string}> {
  const {cloudBuild, logs} = emulators;
  const logging = new LoggingEmulator({
    builds: (id) =>
      (id === undefined ? cloudBuild.builds() : [cloudBuild.getBuild(id)].filter((b) => b !== undefined)).flatMap((b): LoggedBuild[] => {
        const text = logs.get(b.id);
        return text === undefined ? [] : [{id: b.id, projectId: b.projectId, startTime: b.startTime ?? b.createTime, text}];
      }),
  });
  const servers: RestServer[] = await Promise.all([
    startRestServer(cloudBuild),
    startRestServer(emulators.cloudRun, {
      extraRoutes: [
        knativeV1Routes((method, request) => emulators.cloudRun.invokeMethod(method, request), {project: PROJECT, region: REGION}),
      ],
    }),
    startRestServer(emulators.monitoring),
    startRestServer(logging),
  ]);
  started.add(...servers.map((s) => () => s.close()));
  const [cloudBuildRestUrl, cloudRunRestUrl, monitoringRestUrl, loggingRestUrl] = servers.map((s) => s.url);
  return {cloudBuildRestUrl, cloudRunRestUrl, monitoringRestUrl, loggingRestUrl};
}

/** The saved services, each at its saved URL when that port is free, with their serving revisions running again. */
async function restoreServices(cloudRun: CloudRunEmulator, router: ServiceRouter, saved: SavedState, log: Log): Promise<void> {
  if (saved.services.length === 0) return;
  const report = await cloudRun.restore(
    saved.services,
    (service, savedUri, where) => router.urlFor(service, portOf(savedUri), where),
    (service, tag, savedUri, where) => router.tagUrlFor(service, tag, portOf(savedUri), where),
  );
  for (const m of report.moved) {
    const what = m.tag === undefined ? `service ${m.service}` : `tag ${m.tag} of service ${m.service}`;
    log(`stack: ${what} was at ${m.from}, but that port is taken now: it is at ${m.to}`);
  }
  for (const r of report.revisions) {
    if (r.ready) log(`stack: service ${r.service}: revision ${r.revision} runs again`);
    else log(`stack: service ${r.service}: revision ${r.revision} did not start again: ${r.message}`);
  }
  log(`stack: brought back ${report.services} services and ${saved.builds.length} builds from the last run`);
}

/** The log server on `port` if it is free (a restarted stack keeps its log URLs), else on any free port. */
async function startLogServerAt(logs: BuildLogs, port: number | undefined, log: Log): Promise<LogServer> {
  if (port === undefined) return startLogServer(logs);
  try {
    return await startLogServer(logs, port);
  } catch {
    log(`stack: port ${port} of the build logs is taken; the logs of earlier builds are at a new port now`);
    return startLogServer(logs);
  }
}

function portOf(uri: string): number | undefined {
  try {
    const port = Number(new URL(uri).port);
    return port > 0 ? port : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What else the gcloud CLI needs to work against the stack: the loopback proxy for `gcloud
 * run`'s regional host, and a token file and a config folder of the stack's own (`<root>/gcloud/`).
 */
async function startGcloudSupport(root: string, started: Started): Promise<{proxyPort: number; tokenFile: string; configDir: string}> {
  const proxy = await startGcloudProxy();
  started.add(() => proxy.close());
  const dir = join(root, 'gcloud');
  const configDir = join(dir, 'config');
  mkdirSync(configDir, {recursive: true});
  const tokenFile = join(dir, 'access-token');
  // Any token does: the local APIs do not check it, and gcloud needs one to call anything.
  writeFileSync(tokenFile, 'local-stack-token\n', {mode: 0o600});
  return {proxyPort: proxy.port, tokenFile, configDir};
}

/** The controller's configuration: the same variables as on Google Cloud, pointed at the stack. */
function controllerEnv(
  endpoints: {pubsub: string; firestore: string; cloudBuild: string; cloudRun: string; monitoring: string; storage: string},
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PUBSUB_EMULATOR_HOST: endpoints.pubsub,
    FIRESTORE_EMULATOR_HOST: endpoints.firestore,
    METADATA_SERVER_DETECTION: 'none',
    DROPDEPLOY_PROJECT: PROJECT,
    DROPDEPLOY_REGION: REGION,
    DROPDEPLOY_REPOSITORY: 'dropdeploy',
    DROPDEPLOY_STATUS_TOPIC: STATUS_TOPIC,
    DROPDEPLOY_BUCKETS: BUCKET,
    DROPDEPLOY_CLOUD_BUILD_ENDPOINT: endpoints.cloudBuild,
    DROPDEPLOY_CLOUD_RUN_ENDPOINT: endpoints.cloudRun,
    DROPDEPLOY_MONITORING_ENDPOINT: endpoints.monitoring,
    DROPDEPLOY_LOG_FORMAT: 'json',
    DROPDEPLOY_STORAGE_ENDPOINT: endpoints.storage,
    // As the installer sets up: builds run as their own service account, so they log to Cloud
    // Logging only, where gcloud builds log reads them (the local Cloud Logging API).
    DROPDEPLOY_BUILD_SERVICE_ACCOUNT: `dropdeploy-builder@${PROJECT}.iam.gserviceaccount.com`,
    // The local API listens on loopback only and has no callers to tell apart.
    DROPDEPLOY_API_AUTH: 'none',
    // Local events arrive in milliseconds: a release unmoved for 15 s has lost one.
    DROPDEPLOY_RECONCILE_GRACE_SECONDS: '15',
    // The local functions stay up like min-instances ones: the first drop should not wait for
    // the client libraries to load.
    DROPDEPLOY_PRELOAD_CLIENTS: 'true',
    ...extra,
  };
}

/** The controller's three functions. */
async function startFunctions(
  env: Record<string, string>,
  log: Log,
  started: Started,
): Promise<{events: RunningFunction; api: RunningFunction; reconcile: RunningFunction}> {
  const functions: RunningFunction[] = await Promise.all([
    startFunction({target: 'dropdeployEvents', env, onOutput: log}),
    startFunction({target: 'dropdeployApi', env, onOutput: log}),
    startFunction({target: 'dropdeployReconcile', env, onOutput: log}),
  ]);
  started.add(...functions.map((f) => () => f.stop()));
  const [events, api, reconcile] = functions;
  return {events, api, reconcile};
}

/** Eventarc's Pub/Sub triggers when asked (push subscriptions to the event function), and the status printer's subscription. */
async function subscribe(
  topics: {status: Topic; builds: Topic; notifications: Topic},
  eventUrl: string,
  opts: LocalStackOptions,
  started: Started,
  onRelease: () => void,
): Promise<void> {
  if (opts.notifications) {
    await topics.builds.createSubscription('dropdeploy-builds', {
      pushConfig: {pushEndpoint: `${eventUrl}/projects/${PROJECT}/topics/cloud-builds`},
      ackDeadlineSeconds: 600,
    });
    await topics.notifications.createSubscription('dropdeploy-notifications', {
      pushConfig: {pushEndpoint: `${eventUrl}/projects/${PROJECT}/topics/dropdeploy-notifications`},
      ackDeadlineSeconds: 600,
    });
  }
  const [statusSub]: [Subscription, ...unknown[]] = await topics.status.createSubscription('dropdeploy-local-printer', {
    enableMessageOrdering: true,
  });
  statusSub.on('message', (m: Message) => {
    // A status event follows a release's change in Firestore: save it now rather than at the next tick.
    onRelease();
    opts.onStatus?.(m);
    m.ack();
  });
  started.add(() => statusSub.close());
}

/** The bucket folder: each complete file is delivered as Eventarc's `finalized` event (and as a GCS notification when asked). */
async function watchBucket(
  dir: string,
  storeRoot: string,
  eventUrl: string,
  notifications: Topic | undefined,
  log: Log,
  started: Started,
): Promise<BucketWatcher> {
  const watcher = new BucketWatcher({
    bucket: BUCKET,
    dir,
    storeRoot,
    deliver: async (o) => {
      log(`bucket: gs://${BUCKET}/${o.name} generation ${o.generation} (${o.size} bytes)`);
      void deliverFinalized(eventUrl, o, log);
      if (notifications) {
        await notifications.publishMessage({
          json: o,
          attributes: {
            eventType: 'OBJECT_FINALIZE',
            bucketId: BUCKET,
            objectId: o.name,
            objectGeneration: o.generation,
            payloadFormat: 'JSON_API_V1',
          },
        });
      }
    },
    deliverDeleted: async (o) => {
      log(`bucket: gs://${BUCKET}/${o.name} generation ${o.generation} deleted`);
      void deliverDeleted(eventUrl, o, log);
      if (notifications) {
        await notifications.publishMessage({
          json: o,
          attributes: {
            eventType: 'OBJECT_DELETE',
            bucketId: BUCKET,
            objectId: o.name,
            objectGeneration: o.generation,
            payloadFormat: 'JSON_API_V1',
          },
        });
      }
    },
    onError: (err, object) => log(`bucket: ${object}: ${(err as Error).message ?? String(err)}`),
  });
  started.add(() => watcher.stop());
  await watcher.start();
  return watcher;
}

/** `.dropdeploy/local.json`, written atomically: the CLI and `npm run drop` find the stack there. */
function writeLocalInfo(root: string, info: LocalInfo): void {
  const file = join(root, 'local.json');
  writeFileSync(`${file}.tmp`, JSON.stringify(info, null, 2) + '\n');
  renameSync(`${file}.tmp`, file);
}

async function stopAll(stops: Array<() => Promise<unknown>>): Promise<void> {
  for (const stop of stops.splice(0)) await stop().catch(() => undefined);
}
