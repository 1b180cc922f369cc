/**
 * A whole controller stack for one integration test: the official Pub/Sub and Firestore
 * emulators (started by the test harness; a fresh project id isolates each stack), the local
 * Cloud Build and Cloud Run gRPC emulators, and the event function served by the Functions
 * Framework over HTTP. Cloud Build status messages reach the function through a real Pub/Sub
 * push subscription, so a failed handler is redelivered by Pub/Sub itself.
 */
import type {AddressInfo} from 'node:net';
import type {Server} from 'node:http';
import {randomUUID} from 'node:crypto';
import * as functions from '@google-cloud/functions-framework';
import {getTestServer} from '@google-cloud/functions-framework/testing';
import {PubSub, type Message, type Subscription} from '@google-cloud/pubsub';
import {parseConfig, type Config} from '../../src/config';
import {createDeps} from '../../src/composition';
import {handleEvent} from '../../src/controller/handle-event';
import type {Deps} from '../../src/controller/deps';
import {Logger} from '../../src/log';
import {CloudBuildEmulator, publishToCloudBuildsTopic, type BuildRunner} from '../../local/cloud-build/emulator';
import {CloudRunEmulator} from '../../local/cloud-run/emulator';
import {handleHttp} from '../../src/http/api';
import {guardServer} from '../../src/http/body-guard';
import {apiBodyPolicy, eventBodyPolicy} from '../../src/http/body-policies';
import {startStorageApi, type StorageApi} from '../../local/bucket/storage-api';
import {ensureStore, generationPath, objectDir} from '../../local/bucket/object-store';
import {objectChecksums} from '../../local/bucket/checksums';
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {parseJson} from '../json';

/** A status event as a subscriber sees it. */
export interface SeenEvent {
  type: string;
  subject: string;
  id: string;
  orderingKey: string;
  data: Record<string, unknown> & {state: string; release?: number; service?: string};
}

/** Fails the test run when the emulators the harness should have started are missing. */
export function requireEmulators(): void {
  if (!process.env.PUBSUB_EMULATOR_HOST || !process.env.FIRESTORE_EMULATOR_HOST) {
    throw new Error(
      'PUBSUB_EMULATOR_HOST and FIRESTORE_EMULATOR_HOST are not set: run the integration tests with `npm test`, which starts the emulators',
    );
  }
}

/**
 * Runs `build` with environment variables set, then restores them. The Firestore and Pub/Sub
 * clients read their emulator host variables when built, so this points one client at other
 * hosts (such as a fault proxy) while the test's own clients stay direct.
 */
export async function withEnv<T>(vars: Record<string, string>, build: () => T | Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await build();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** A running stack. */
/**
 * Writes one generation of `object` straight into a local bucket's object store, as the bucket
 * folder would, but announced by no event (what a lost `finalized` leaves behind).
 */
export function putStoredObject(
  storeRoot: string,
  bucket: string,
  object: string,
  generation: string,
  content: Buffer,
  opts: {metadata?: Record<string, string>; timeCreated?: Date} = {},
): void {
  mkdirSync(objectDir(storeRoot, object), {recursive: true});
  const path = generationPath(storeRoot, object, generation);
  writeFileSync(path, content);
  const time = (opts.timeCreated ?? new Date()).toISOString();
  writeFileSync(
    `${path}.json`,
    JSON.stringify({
      bucket,
      name: object,
      generation,
      metageneration: '1',
      size: String(content.length),
      ...objectChecksums(content),
      contentType: 'application/gzip',
      timeCreated: time,
      updated: time,
      ...(opts.metadata ? {metadata: opts.metadata} : {}),
    }),
  );
}

export class Stack {
  readonly events: SeenEvent[] = [];
  private constructor(
    /** The controller's log lines (JSON). */
    readonly logs: string[],
    readonly config: Config,
    readonly deps: Deps,
    readonly build: CloudBuildEmulator,
    readonly run: CloudRunEmulator,
    readonly pubsub: PubSub,
    readonly url: string,
    /** The HTTP API function's URL. */
    readonly apiUrl: string,
    private readonly servers: Server[],
    private readonly statusSub: Subscription,
    private readonly storage: StorageApi,
    private readonly storeRoot: string,
  ) {}

  /** Starts a stack in a project of its own. */
  static async start(
    opts: {env?: Record<string, string>; buildRunner?: BuildRunner; via?: {firestore: string; pubsub: string}} = {},
  ): Promise<Stack> {
    requireEmulators();
    const projectId = `dd-${randomUUID().slice(0, 8)}`;
    const pubsub = new PubSub({projectId});
    const [statusTopic] = await pubsub.createTopic('dropdeploy-status');
    const [buildsTopic] = await pubsub.createTopic('cloud-builds');
    const [statusSub] = await statusTopic.createSubscription('observer', {enableMessageOrdering: true});
    const build = new CloudBuildEmulator({onStatus: publishToCloudBuildsTopic(buildsTopic), runner: opts.buildRunner});
    const run = new CloudRunEmulator();
    const [buildPort, runPort] = await Promise.all([build.start(), run.start()]);
    const storeRoot = mkdtempSync(join(tmpdir(), 'dd-objects-'));
    ensureStore(storeRoot);
    const storage = await startStorageApi(storeRoot, 'dd-sources');
    const config = parseConfig({
      DROPDEPLOY_PROJECT: projectId,
      DROPDEPLOY_REGION: 'europe-west1',
      DROPDEPLOY_REPOSITORY: 'dropdeploy',
      DROPDEPLOY_STATUS_TOPIC: 'dropdeploy-status',
      DROPDEPLOY_BUCKETS: 'dd-sources',
      DROPDEPLOY_CLOUD_BUILD_ENDPOINT: `127.0.0.1:${buildPort}`,
      DROPDEPLOY_CLOUD_RUN_ENDPOINT: `127.0.0.1:${runPort}`,
      DROPDEPLOY_FUNCTION_TIMEOUT_SECONDS: '25',
      DROPDEPLOY_LEASE_SECONDS: '30',
      DROPDEPLOY_WAIT_SECONDS: '20',
      DROPDEPLOY_STORAGE_ENDPOINT: storage.url,
      DROPDEPLOY_API_AUTH: 'none',
      ...opts.env,
    });
    const deps = createDeps(config);
    // The controller's own clients, built now, may go through other hosts (a fault proxy).
    if (opts.via) {
      await withEnv({FIRESTORE_EMULATOR_HOST: opts.via.firestore, PUBSUB_EMULATOR_HOST: opts.via.pubsub}, async () => {
        await deps.store();
        await deps.publisher();
      });
    }
    const logs: string[] = [];
    const log = new Logger({format: 'json', write: (l) => logs.push(l)});
    const target = `dropdeployEvents_${projectId.replace(/-/g, '_')}`;
    functions.cloudEvent(target, async (event: functions.CloudEvent<unknown>) => {
      await handleEvent(deps, event, log);
    });
    functions.http(`${target}_api`, (req, res) => handleHttp(deps, req, res, log));
    const [server, apiServer] = [getTestServer(target), getTestServer(`${target}_api`)];
    // As src/index.ts does for the servers the framework starts on Google Cloud.
    guardServer(server, eventBodyPolicy(log));
    guardServer(apiServer, apiBodyPolicy(log));
    await Promise.all([server, apiServer].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const apiUrl = `http://127.0.0.1:${(apiServer.address() as AddressInfo).port}`;
    await buildsTopic.createSubscription('controller', {
      pushConfig: {pushEndpoint: `${url}/projects/${projectId}/topics/cloud-builds`},
      ackDeadlineSeconds: 60,
    });
    const stack = new Stack(logs, config, deps, build, run, pubsub, url, apiUrl, [server, apiServer], statusSub, storage, storeRoot);
    statusSub.on('message', (m: Message) => {
      stack.events.push({
        type: m.attributes['ce-type'],
        subject: m.attributes['ce-subject'],
        id: m.attributes['ce-id'],
        orderingKey: m.orderingKey ?? '',
        data: parseJson<SeenEvent['data']>(m.data),
      });
      m.ack();
    });
    return stack;
  }

  /** POSTs a CloudEvent in binary content mode, as Eventarc delivers it; returns the HTTP status. */
  async postEvent(type: string, data: unknown, source = '//storage.googleapis.com/projects/_/buckets/dd-sources'): Promise<number> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': randomUUID(),
        'ce-source': source,
        'ce-type': type,
        'ce-time': new Date().toISOString(),
      },
      body: JSON.stringify(data),
    });
    await res.arrayBuffer();
    return res.status;
  }

  /** Stores an object generation in the test bucket (read through the Cloud Storage JSON API); returns its timeCreated. */
  putObject(object: string, generation: string, content = 'archive', metadata?: Record<string, string>, timeCreated = new Date()): string {
    putStoredObject(this.storeRoot, 'dd-sources', object, generation, Buffer.from(content), {metadata, timeCreated});
    return timeCreated.toISOString();
  }

  /**
   * Calls the HTTP API; returns status and parsed JSON (the text when it is not JSON), typed as
   * the answer `T` the caller expects.
   */
  async api<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{status: number; json: T}> {
    const res = await fetch(this.apiUrl + path, {
      method,
      headers: {...(body !== undefined ? {'content-type': 'application/json'} : {}), ...headers},
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return {status: res.status, json: json as T};
  }

  /** Delivers an upload the way Eventarc does (storage `finalized`). */
  upload(object: string, generation: string, extra: Record<string, unknown> = {}): Promise<number> {
    return this.postEvent('google.cloud.storage.object.v1.finalized', {
      bucket: 'dd-sources',
      name: object,
      generation,
      size: '1024',
      md5Hash: 'XrY7u+Ae7tCTyyK7j1rNww==',
      crc32c: 'yZRlqg==',
      contentType: 'application/gzip',
      ...extra,
    });
  }

  /** Delivers an upload as a GCS notification in a raw Pub/Sub push envelope. */
  notify(object: string, generation: string): Promise<number> {
    const obj = {bucket: 'dd-sources', name: object, generation, size: '1024', md5Hash: 'XrY7u+Ae7tCTyyK7j1rNww=='};
    return this.push('dd-notifications', {
      attributes: {
        eventType: 'OBJECT_FINALIZE',
        bucketId: 'dd-sources',
        objectId: object,
        objectGeneration: generation,
        payloadFormat: 'JSON_API_V1',
      },
      data: Buffer.from(JSON.stringify(obj)),
    });
  }

  /** POSTs a message of `topic` to the controller in a raw Pub/Sub push envelope; returns the HTTP status. */
  async push(
    topic: string,
    message: {data: Buffer; attributes: Record<string, string>; messageId?: string; publishTime?: Date},
  ): Promise<number> {
    const res = await fetch(`${this.url}/projects/${this.config.projectId}/topics/${topic}`, {
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({
        subscription: `projects/${this.config.projectId}/subscriptions/${topic}-push`,
        message: {
          attributes: message.attributes,
          data: message.data.toString('base64'),
          messageId: message.messageId ?? randomUUID(),
          publishTime: (message.publishTime ?? new Date()).toISOString(),
        },
      }),
    });
    await res.arrayBuffer();
    return res.status;
  }

  /** The id of the build the emulator received for release `release` of `service`. */
  buildIdOf(service: string, release: number): string {
    const b = this.build
      .builds()
      .find((x) => (x as {tags?: string[]}).tags?.includes(`dd-${this.config.firestore.root}-${service}-v${release}`));
    if (!b)
      throw new Error(
        `no build of ${service} v${release}; builds: ${this.build
          .builds()
          .map((x) => JSON.stringify((x as {tags?: unknown}).tags))
          .join(' ')}`,
      );
    return (b as {id: string}).id;
  }

  /** Status events for one release, in arrival order. */
  statesOf(service: string, release: number): string[] {
    return this.events.filter((e) => e.subject === `services/${service}/releases/${release}`).map((e) => e.data.state);
  }

  /**
   * Polls `check` until it returns a truthy value; fails with `what` and recent logs after `ms`
   * (every log line and status event is written to a file the error names).
   */
  async waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, ms = 30_000): Promise<NonNullable<T>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await check();
      if (v) return v;
      if (Date.now() > deadline) {
        const dump = join(tmpdir(), `dropdeploy-stack-${this.config.firestore.root}.log`);
        writeFileSync(dump, [...this.logs, ...this.events.map((e) => JSON.stringify(e))].join('\n') + '\n');
        throw new Error(`timed out waiting for ${what} (all logs and events: ${dump})\nlogs:\n${this.logs.slice(-15).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops everything this stack started. */
  async stop(): Promise<void> {
    await this.statusSub.close();
    for (const server of this.servers) {
      server.closeAllConnections?.();
      await new Promise<void>((r) => server.close(() => r()));
    }
    await this.storage.close();
    await this.deps.close();
    await Promise.all([this.build.stop(), this.run.stop()]);
    await this.pubsub.close();
  }
}
