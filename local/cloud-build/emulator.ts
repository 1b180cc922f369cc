import {createHash, randomUUID} from 'node:crypto';
import {GrpcEmulator, type HttpRuleOption, type ServedService} from '../grpc/emulator-server';
import {OperationStore, type Operation} from '../grpc/operations';
import {listField, messageField, stringField, stringList} from '../grpc/fields';
import {clonePlain, type PlainMessage} from '../grpc/protos';
import {rpc} from '../grpc/rpc-error';
import {timestamp} from '../grpc/time';
import {buildToJson, type BuildJson} from './build-json';
import {buildFilter} from './list-filter';
import type {StoredBuild} from './messages';
import {autoCompleteRunner, type BuildRunner} from './build-runner';
import {isTerminalBuildStatus} from '../../src/releases/build-statuses';
import {restoredBuild} from './persisted';

export {buildToJson, publishToCloudBuildsTopic, type BuildJson} from './build-json';
export {autoCompleteRunner, type BuildRunner, type BuildControl} from './build-runner';
export type {BuiltImage, StoredBuild} from './messages';

/** Options of {@link CloudBuildEmulator}. */
export interface CloudBuildEmulatorOptions {
  /** If set, the only project this emulator serves; others get PERMISSION_DENIED, as a wrong project would. */
  projectId?: string;
  /** Called with the Build JSON on every status change, in order (QUEUED first). */
  onStatus?: (build: BuildJson) => Promise<void> | void;
  /** Prefix of each build's logUrl; default `http://127.0.0.1:<port>`. */
  logBaseUrl?: string;
  /** Shortcut for `runner: autoCompleteRunner(autoComplete)`. */
  autoComplete?: {status: 'SUCCESS' | 'FAILURE'; afterMs: number};
  /** Drives each new build (a local builder later); without one, builds wait for setStatus. */
  runner?: BuildRunner;
  /** Called after every change to the builds (a new build, a status), e.g. to save {@link CloudBuildEmulator.snapshot}. */
  onChange?: () => void;
}

const BUILD = 'google.devtools.cloudbuild.v1.Build';
const METADATA = 'google.devtools.cloudbuild.v1.BuildOperationMetadata';
// Output-only fields a caller may send back from an earlier read; the server owns them.
const OUTPUT_ONLY = [
  'name',
  'id',
  'projectId',
  'status',
  'statusDetail',
  'results',
  'createTime',
  'startTime',
  'finishTime',
  'sourceProvenance',
  'buildTriggerId',
  'logUrl',
  'timing',
  'approval',
  'warnings',
  'failureInfo',
];

// Cloud Build's service config serves Operations at both names (cloud_build_client's lroOptions.httpRules).
const OPERATION_HTTP_RULES: Record<string, HttpRuleOption> = {
  GetOperation: {get: '/v1/{name=operations/**}', additional_bindings: {get: '/v1/{name=projects/*/locations/*/operations/*}'}},
  CancelOperation: {
    post: '/v1/{name=operations/**}:cancel',
    body: '*',
    additional_bindings: {post: '/v1/{name=projects/*/locations/*/operations/*}:cancel', body: '*'},
  },
};

/** A local `google.devtools.cloudbuild.v1.CloudBuild` gRPC server that the official CloudBuildClient can use. */
export class CloudBuildEmulator extends GrpcEmulator {
  private readonly store = new Map<string, StoredBuild>();
  private readonly opNames = new Map<string, string>();
  private readonly operations = new OperationStore((name) => this.cancelByOperation(name));
  private readonly runner: BuildRunner | undefined;
  private readonly cleanups: Array<() => void> = [];
  private notifications: Promise<void> = Promise.resolve();
  /** Errors thrown by onStatus; recorded instead of failing the RPC that caused the change. */
  readonly notifyErrors: unknown[] = [];

  constructor(private readonly opts: CloudBuildEmulatorOptions = {}) {
    super();
    this.runner = opts.runner ?? (opts.autoComplete && autoCompleteRunner(opts.autoComplete));
  }

  protected servedServices(): ServedService[] {
    return [
      {
        service: 'google.devtools.cloudbuild.v1.CloudBuild',
        handlers: {
          CreateBuild: (req) => this.createBuild(req),
          GetBuild: (req) => clonePlain(this.mustFind(req)),
          ListBuilds: (req) => this.listBuilds(req),
          CancelBuild: (req) => this.cancelBuild(req),
        },
      },
      this.operations.service(OPERATION_HTTP_RULES),
    ];
  }

  protected override async onStop(): Promise<void> {
    this.cleanups.splice(0).forEach((cleanup) => cleanup());
    await this.notifications;
  }

  /** A copy of one build, for assertions. */
  getBuild(id: string): StoredBuild | undefined {
    const build = this.store.get(id);
    return build && clonePlain(build);
  }

  /** Copies of all builds, oldest first. */
  builds(): StoredBuild[] {
    return [...this.store.values()].map((b) => clonePlain(b));
  }

  /** Every build, for saving: give it to {@link restore} of the next emulator. */
  snapshot(): StoredBuild[] {
    return this.builds();
  }

  /**
   * Brings back saved builds (before any new one is created), so GetBuild and ListBuilds answer
   * for them and their operations are done. A build that was still queued or working ends
   * INTERNAL_ERROR (see {@link restoredBuild}); its ids are returned, to {@link announce} once
   * someone listens.
   */
  restore(builds: StoredBuild[]): string[] {
    const interrupted: string[] = [];
    const now = timestamp(Date.now());
    for (const saved of builds) {
      const {build, interrupted: stopped} = restoredBuild(clonePlain(saved), now);
      this.store.set(build.id, build);
      const opName = this.operationName(build);
      this.opNames.set(build.id, opName);
      this.operations.start(opName, METADATA, {build});
      this.operations.finish(opName, {response: {type: BUILD, value: build}});
      if (stopped) interrupted.push(build.id);
    }
    if (interrupted.length) this.opts.onChange?.();
    return interrupted;
  }

  /** Sends a build's current status to onStatus again (as Cloud Build republishes), e.g. for a restored build. */
  announce(id: string): Promise<void> {
    const build = this.store.get(id);
    if (!build) throw new Error(`no build ${id}`);
    return this.notify(build);
  }

  /** Resolves once every onStatus call made so far has finished. */
  flushNotifications(): Promise<void> {
    return this.notifications;
  }

  /**
   * Moves a build to `status` as Cloud Build would (timestamps, results, failure info, the
   * operation) and notifies onStatus. Throws for an unknown or already terminal build.
   */
  setStatus(id: string, status: string, opts: {failureDetail?: string; digest?: string} = {}): Promise<void> {
    const build = this.store.get(id);
    if (!build) throw new Error(`no build ${id}`);
    if (isTerminalBuildStatus(build.status)) throw new Error(`build ${id} is already ${build.status}`);
    const now = timestamp(Date.now());
    build.status = status;
    // A build that ran has a startTime even if the caller skipped WORKING; one cancelled or expired in the queue has none.
    if (!['QUEUED', 'PENDING', 'CANCELLED', 'EXPIRED'].includes(status)) build.startTime ??= now;
    if (status === 'SUCCESS') {
      build.results = {
        ...build.results,
        images: stringList(build, 'images').map((name) => ({
          name,
          digest:
            opts.digest ??
            'sha256:' +
              createHash('sha256')
                .update(id + name)
                .digest('hex'),
        })),
      };
    }
    if (status === 'FAILURE') {
      const detail = opts.failureDetail ?? 'Build step failure: build step 0 failed: step exited with non-zero status: 1';
      build.failureInfo = {type: 'USER_BUILD_STEP', detail};
      build.statusDetail = detail;
    } else if (opts.failureDetail) {
      build.statusDetail = opts.failureDetail;
    }
    const opName = this.opNames.get(id)!;
    if (isTerminalBuildStatus(status)) {
      build.finishTime = now;
      this.operations.finish(opName, {response: {type: BUILD, value: build}});
    }
    this.operations.setMetadata(opName, METADATA, {build});
    this.opts.onChange?.();
    return this.notify(build);
  }

  private notify(build: StoredBuild): Promise<void> {
    const json = buildToJson(build);
    // Chained so subscribers see QUEUED, WORKING, SUCCESS in order even with a slow onStatus.
    this.notifications = this.notifications.then(async () => {
      try {
        await this.opts.onStatus?.(json);
      } catch (err) {
        this.notifyErrors.push(err);
      }
    });
    return this.notifications;
  }

  private projectOf(req: PlainMessage): string {
    const projectId = stringField(req, 'projectId') || /^projects\/([^/]+)/.exec(stringField(req, 'parent'))?.[1] || '';
    if (!projectId) throw rpc.invalidArgument('projectId is required');
    if (this.opts.projectId && projectId !== this.opts.projectId) {
      throw rpc.permissionDenied('The caller does not have permission');
    }
    return projectId;
  }

  private createBuild(req: PlainMessage): Operation {
    const projectId = this.projectOf(req);
    const spec = messageField(req, 'build');
    if (!spec || !listField(spec, 'steps').length) throw rpc.invalidArgument('invalid build: build must contain at least one step');
    const id = randomUUID();
    const given = clonePlain(spec);
    for (const field of OUTPUT_ONLY) delete given[field];
    const build: StoredBuild = {
      timeout: {seconds: '600'},
      ...given,
      name: `projects/${projectId}/locations/global/builds/${id}`,
      id,
      projectId,
      status: 'QUEUED',
      createTime: timestamp(Date.now()),
      logUrl: `${this.opts.logBaseUrl ?? `http://127.0.0.1:${this.port}`}/builds/${id}`,
    };
    this.store.set(id, build);
    const opName = this.operationName(build);
    this.opNames.set(id, opName);
    this.opts.onChange?.();
    const op = this.operations.start(opName, METADATA, {build});
    void this.notify(build);
    const cleanup = this.runner?.(clonePlain(build), {
      setStatus: (status, opts) => {
        if (!isTerminalBuildStatus(this.store.get(id)?.status)) void this.setStatus(id, status, opts);
      },
    });
    if (cleanup) this.cleanups.push(cleanup);
    return op;
  }

  private operationName(build: StoredBuild): string {
    return `operations/build/${build.projectId}/${Buffer.from(build.id).toString('base64')}`;
  }

  private mustFind(req: PlainMessage): StoredBuild {
    const id = stringField(req, 'id') || /\/builds\/([^/]+)$/.exec(stringField(req, 'name'))?.[1] || '';
    const build = this.store.get(id);
    if (!build) throw rpc.notFound(`Requested entity was not found.`);
    return build;
  }

  private listBuilds(req: PlainMessage): {builds: StoredBuild[]} {
    const projectId = this.projectOf(req);
    const matches = buildFilter(stringField(req, 'filter'));
    const builds = [...this.store.values()].filter((b) => b.projectId === projectId && matches(b)).reverse();
    return {builds: builds.map((b) => clonePlain(b))};
  }

  private cancelBuild(req: PlainMessage): StoredBuild {
    const build = this.mustFind(req);
    if (isTerminalBuildStatus(build.status)) {
      throw rpc.failedPrecondition(`Build ${build.id} has already finished with status ${build.status}.`);
    }
    void this.setStatus(build.id, 'CANCELLED');
    return clonePlain(build);
  }

  private cancelByOperation(opName: string): void {
    for (const [id, name] of this.opNames) {
      if (name === opName && !isTerminalBuildStatus(this.store.get(id)?.status)) void this.setStatus(id, 'CANCELLED');
    }
  }
}
