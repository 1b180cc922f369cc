/**
 * The composition root: the real adapters, built from the parsed configuration lazily and
 * once per instance, so a cold start loads only the client libraries its path uses.
 */
import {randomUUID} from 'node:crypto';
import type {Config} from './config';
import type {Deps} from './controller/deps';
import type {Builds, InvokerPolicy, Metrics, Objects, Prober, ReleaseStore, Services, StatusPublisher} from './ports';

/** Memoises an async factory: built on first call, shared afterwards, retried if it failed. */
function once<T>(make: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => {
    value ??= make().catch((err) => {
      value = undefined;
      throw err;
    });
    return value;
  };
}

/**
 * Builds a gax client's stubs (its protos and the channel) now: its first call would, and a
 * handler's first call should not pay for it when the port was preloaded.
 */
async function initialized<T extends {initialize(): unknown}>(client: T): Promise<T> {
  await client.initialize();
  return client;
}

/** Client options for a local plaintext gRPC emulator at host:port, or {} for Google Cloud. */
async function grpcEndpoint(endpoint: string | undefined): Promise<Record<string, unknown>> {
  if (!endpoint) return {};
  const i = endpoint.lastIndexOf(':');
  // The credentials must come from google-gax's own grpc-js copy.
  const {grpc} = await import('google-gax');
  return {apiEndpoint: endpoint.slice(0, i), port: Number(endpoint.slice(i + 1)), sslCreds: grpc.credentials.createInsecure()};
}

/** The production dependencies for `config`. */
export function createDeps(config: Config): Deps {
  const closers: Array<() => Promise<unknown>> = [];
  const opened = <T extends {close(): Promise<unknown>} | {terminate(): Promise<unknown>}>(client: T): T => {
    closers.push(() => ('terminate' in client ? client.terminate() : client.close()));
    return client;
  };
  const pubsub = once(async () => opened(new (await import('@google-cloud/pubsub')).PubSub({projectId: config.projectId})));
  // One Cloud Run client for the deploys and the API's invoker check (constructing one loads its protos).
  const run = once(async () => {
    const client = await initialized(
      opened(
        new (await import('@google-cloud/run')).ServicesClient({
          projectId: config.projectId,
          ...(await grpcEndpoint(config.endpoints.cloudRun)),
        }),
      ),
    );
    if (config.preloadClients) {
      const {cloudRunSamples, warmCodecs} = await import('./google/warm-codecs');
      await warmCodecs(client.servicesStub, cloudRunSamples(config));
    }
    return client;
  });
  const revisions = once(async () =>
    initialized(
      opened(
        new (await import('@google-cloud/run')).RevisionsClient({
          projectId: config.projectId,
          ...(await grpcEndpoint(config.endpoints.cloudRun)),
        }),
      ),
    ),
  );
  const servicesIn = new Map<string, () => Promise<Services>>();
  return {
    config,
    store: once<ReleaseStore>(async () => {
      const {Firestore} = await import('@google-cloud/firestore');
      const {FirestoreReleaseStore} = await import('./google/firestore-store');
      const db = opened(
        new Firestore({projectId: config.projectId, databaseId: config.firestore.databaseId, ignoreUndefinedProperties: true}),
      );
      // Firestore builds its gapic client and channel on its first request: when preloading,
      // make that request now, a read of a document no service can be (ids start with a letter).
      // Waited for at most 2 s, so an unreachable Firestore does not hold up the requests that
      // need the store; a failure here is left to the first real request to report.
      if (config.preloadClients) {
        const read = db.doc(`${config.firestore.root}_services/_preload`).get();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([read, new Promise((r) => (timer = setTimeout(r, 2000).unref()))]).catch(() => undefined);
        clearTimeout(timer);
        read.catch(() => undefined);
      }
      return new FirestoreReleaseStore(db, config.firestore.root);
    }),
    builds: once<Builds>(async () => {
      const {CloudBuildClient} = await import('@google-cloud/cloudbuild');
      const {CloudBuildAdapter} = await import('./google/cloud-build');
      const client = await initialized(
        opened(new CloudBuildClient({projectId: config.projectId, ...(await grpcEndpoint(config.endpoints.cloudBuild))})),
      );
      if (config.preloadClients) {
        const {cloudBuildSamples, warmCodecs} = await import('./google/warm-codecs');
        await warmCodecs(client.cloudBuildStub, cloudBuildSamples(config));
      }
      return new CloudBuildAdapter(client, config.projectId);
    }),
    services: (target) => {
      // One adapter per project and region, all on the one client: the location is in every resource name.
      const key =
        target && (target.project !== config.projectId || target.region !== config.region) ? `${target.project}/${target.region}` : '';
      let port = servicesIn.get(key);
      if (!port) {
        const {project, region} = key ? target! : {project: config.projectId, region: config.region};
        port = once<Services>(async () => {
          const {CloudRunAdapter} = await import('./google/cloud-run');
          return new CloudRunAdapter(await run(), project, region, revisions);
        });
        servicesIn.set(key, port);
      }
      return port();
    },
    publisher: once<StatusPublisher>(async () => {
      const {PubSubStatusPublisher} = await import('./google/pubsub-publisher');
      const client = await pubsub();
      // The client builds its gapic publisher (protos and all, ~30 ms of CPU) on the first
      // publish: when preloading, build it now. No request is made.
      if (config.preloadClients) await client.getClientAsync_({client: 'PublisherClient'});
      return new PubSubStatusPublisher(client, config.statusTopic);
    }),
    objects: once<Objects>(async () => {
      const {Storage} = await import('@google-cloud/storage');
      const {CloudStorageAdapter} = await import('./google/cloud-storage');
      // A local JSON API needs no credentials; on Google Cloud the default ones apply.
      return new CloudStorageAdapter(
        new Storage(
          config.storageEndpoint ? {projectId: config.projectId, apiEndpoint: config.storageEndpoint} : {projectId: config.projectId},
        ),
      );
    }),
    now: () => new Date(),
    newId: () => randomUUID(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    close: async () => {
      await Promise.all(closers.splice(0).map((close) => close().catch(() => undefined)));
    },
    // Only the API in mode cloud-run-iam asks for it, once per instance.
    invokerPolicy: once<InvokerPolicy>(async () => {
      const {CloudRunInvokerPolicy} = await import('./google/run-iam');
      return new CloudRunInvokerPolicy(await run(), config.projectId, config.region);
    }),
    prober: once<Prober>(async () => {
      const {HttpProber} = await import('./google/http-prober');
      // The local Cloud Run has no IAM: its revisions take requests without a token.
      if (config.endpoints.cloudRun) return new HttpProber(() => Promise.resolve(undefined));
      const {GoogleAuth} = await import('google-auth-library');
      const auth = new GoogleAuth();
      return new HttpProber(async (audience) => {
        const headers = await (await auth.getIdTokenClient(audience)).getRequestHeaders();
        return headers instanceof Headers ? (headers.get('authorization') ?? undefined) : (headers as Record<string, string>).Authorization;
      });
    }),
    // Only rollouts with metric gates ask for it: not preloaded.
    metrics: once<Metrics>(async () => {
      const {MetricServiceClient} = await import('@google-cloud/monitoring');
      const {CloudMonitoringMetrics} = await import('./google/monitoring');
      return new CloudMonitoringMetrics(
        await initialized(
          opened(new MetricServiceClient({projectId: config.projectId, ...(await grpcEndpoint(config.endpoints.monitoring))})),
        ),
        config.projectId,
        config.region,
      );
    }),
  };
}

/**
 * Builds every client a handler may need now rather than on first use (DROPDEPLOY_PRELOAD_CLIENTS):
 * the module loading and proto parsing then happen while the instance is idle, not inside its
 * first request. Each port stays memoised, so the handlers get these same instances.
 */
export async function preloadClients(deps: Deps): Promise<void> {
  await Promise.all([deps.store(), deps.builds(), deps.services(), deps.publisher(), deps.objects()]);
}
