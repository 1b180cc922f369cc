/**
 * The narrow interfaces the controller needs from the outside world. Adapters in
 * `src/google/` implement them; SDK types and errors never cross them.
 */
import type {BuildSpec} from './releases/build-request';
import type {DeployResult} from './releases/decisions';
import type {PreviewView, RemovalDecision} from './releases/preview-decisions';
import type {PreviewRef, Release, ReleaseOrigin, Source, Trigger} from './releases/release';
import type {RolloutPolicy} from './releases/rollout-policy';
import type {RunRevision, RunService} from './releases/service-spec';
import type {TargetRecord} from './releases/targets';
import type {RecordedEnvVar} from './releases/deployed-env';
import type {StatusMessage} from './releases/status-event';

/** A Cloud Build build, as much as dropdeploy needs of it. */
export interface BuildInfo {
  id: string;
  status: string;
  logUrl?: string;
  tags: string[];
  substitutions: Record<string, string>;
  /** Pushed images with their digests (results.images). */
  images: Array<{name: string; digest: string}>;
  /** failureInfo.detail or statusDetail, when the build did not succeed. */
  failureDetail?: string;
  /** The exact archive generation it built (source.storageSource). */
  source?: {bucket: string; object: string; generation: string};
  /** The service account it ran as (`projects/P/serviceAccounts/EMAIL`), if one was set. */
  serviceAccount?: string;
  /** The images it was asked to push (`images`). */
  requestedImages: string[];
}

/** Cloud Build: start a build, read one, find one by tag. */
export interface Builds {
  create(spec: BuildSpec): Promise<{buildId: string; logUrl?: string}>;
  get(buildId: string): Promise<BuildInfo>;
  /** The newest builds carrying `tag`, newest first (recovers a build whose id was never recorded). */
  findByTag(tag: string): Promise<BuildInfo[]>;
}

/** The result of waiting for a Cloud Run create/update. */
export type DeployOutcome =
  /** `tagUrls`: each traffic tag's own URL (trafficStatuses), by tag. */
  | {ok: true; revision: string; url?: string; tagUrls?: Record<string, string>}
  | {ok: false; message: string; code?: string; revision?: string};

/** Cloud Run: read, create and update services; create/update wait for the rollout, at most `waitMs`. */
export interface Services {
  get(service: string): Promise<RunService | undefined>;
  /** A revision of `service` by its short name (its template: containers with their env), or undefined when it is gone. */
  getRevision(service: string, revision: string): Promise<RunRevision | undefined>;
  create(service: string, spec: RunService, waitMs: number): Promise<DeployOutcome>;
  update(spec: RunService, waitMs: number): Promise<DeployOutcome>;
}

/** The status topic. */
export interface StatusPublisher {
  publish(message: StatusMessage): Promise<void>;
}

/** What a step that needs exclusivity found when it tried to take its lease. */
export type LeaseOutcome<T> =
  | {kind: 'go'; release: Release; value: T}
  | {kind: 'busy'; release: Release; holder?: number; stalled?: Release}
  | {kind: 'done'; release: Release};

/** What the store knows of a service. */
export interface ServiceSummary {
  service: string;
  lastRelease: number;
  deployed?: {release: number; image?: string; revision?: string; url?: string; time: string};
}

/** What taking the lock to remove a preview found (see `decidePreviewRemoval`). */
export type PreviewRemovalLease = Exclude<RemovalDecision, {kind: 'go'}> | {kind: 'go'; through: number};

/** A service's stored rollout policy, and who changed it last and when (RFC 3339); none stored: no `policy`. */
export interface StoredPolicy {
  policy?: RolloutPolicy;
  updateTime?: string;
  updatedBy?: string;
}

/** A new release made by an operator (redeploy, rollback, or an environment change). */
export type ManualRelease = ReleaseOrigin;

/** The release store (Firestore): all state, every decision made inside a transaction. */
export interface ReleaseStore {
  /**
   * The release of an uploaded generation, creating it (v = next number) exactly once. The
   * creator also gets the release's build lease in the same transaction (`buildLease`), so it
   * can start the build without another round trip.
   */
  claimSource(
    service: string,
    source: Source,
    init: {trigger: Trigger; actor: string; preview?: PreviewRef},
    now: Date,
    buildLease: {holder: string; leaseMs: number},
  ): Promise<{release: Release; created: boolean}>;
  get(service: string, release: number): Promise<Release | undefined>;
  /** Applies a pure change inside a transaction; returns the stored record. */
  update(service: string, release: number, change: (r: Release) => Release | undefined): Promise<Release>;
  /**
   * Writes `next` over its stored release without reading it first, if `holder` still holds
   * the release's build lease; false (nothing written) once another delivery took it over.
   * Nothing but a takeover changes an `accepted` release, so the holder knows what is stored.
   */
  putHeld(next: Release, holder: string): Promise<boolean>;
  /**
   * Records `build` on an `accepted` release whose starter did not (it failed or died right
   * after CreateBuild); `busy` while another delivery holds the build lease, as that one is
   * about to record it; `done` when the release is past `accepted`.
   */
  adoptBuild(service: string, release: number, build: {buildId: string; logUrl?: string}, now: Date): Promise<LeaseOutcome<undefined>>;
  /** Takes the build-start lease of an `accepted` release; `value` tells whether an earlier attempt may have created a build. */
  leaseBuild(
    service: string,
    release: number,
    holder: string,
    now: Date,
    leaseMs: number,
  ): Promise<LeaseOutcome<{earlierAttempt: boolean}>>;
  /**
   * Takes the service's deploy lock for `release` and moves it to `deploying`, or supersedes it
   * when a newer release was deployed; `busy` while another holds the lock, or while a newer
   * release that started deploying has not ended (it may already serve). In the latter case
   * nobody holds the lock (its deploy failed half way or died), and `stalled` is that release:
   * the caller may finish it rather than wait for its own redelivery.
   */
  leaseDeploy(
    service: string,
    release: number,
    image: string,
    holder: string,
    now: Date,
    leaseMs: number,
  ): Promise<LeaseOutcome<{image: string}>>;
  /** Records the deploy's outcome, updates the service's deployed release, frees the lock. */
  finishDeploy(service: string, release: number, result: DeployResult, holder: string, now: Date): Promise<Release>;
  /**
   * Writes a multi-target deploy's progress (`targets`, and nothing else) on the release while
   * `holder` holds the service's deploy lock for it; false (nothing written) once it does not.
   */
  putTargets(
    service: string,
    release: number,
    targets: TargetRecord[],
    holder: string,
    now: Date,
    env?: RecordedEnvVar[],
  ): Promise<boolean>;
  /** Extends `holder`'s deploy lock of `release` by `leaseMs` from `now`; false once it is not theirs. */
  renewDeployLock(service: string, release: number, holder: string, now: Date, leaseMs: number): Promise<boolean>;
  /**
   * Takes the service's deploy lock for the next step of `release`'s rollout, or supersedes the
   * rollout when a newer release started deploying; `done` when it is not rolling out.
   */
  leaseRolloutStep(service: string, release: number, holder: string, now: Date, leaseMs: number): Promise<LeaseOutcome<undefined>>;
  /**
   * Records a step's outcome (`next`) if `holder` still holds the lock, updates the deployed
   * release at 100 %, frees the lock; with `keepLock`, records only (the step's write-ahead).
   */
  finishRolloutStep(next: Release, holder: string, now: Date, keepLock?: boolean): Promise<Release>;
  /** Releases of this installation that are verifying or rolling out, at most `limit`, oldest change first (after `after`). */
  listRollouts(limit: number, after?: string): Promise<Release[]>;
  /**
   * Takes the service's deploy lock to remove preview `name` (`generation`: of the deleted object,
   * whose removal counts only when it is the preview's newest); NOT_FOUND for an unknown service.
   */
  leasePreviewRemoval(
    service: string,
    name: string,
    holder: string,
    now: Date,
    leaseMs: number,
    generation?: string,
  ): Promise<PreviewRemovalLease>;
  /** Records the preview removed (its releases up to `through`) and frees `holder`'s lock. */
  finishPreviewRemoval(service: string, name: string, through: number, holder: string, actor: string, now: Date): Promise<void>;
  /** The service's previews that are not removed; undefined when the store knows no such service. */
  listPreviews(service: string): Promise<PreviewView[] | undefined>;
  /** Frees a lease after a retryable failure so the redelivery can go on at once. */
  releaseLease(service: string, release: number, holder: string): Promise<void>;
  /** Notes that status events of `states` were published. */
  markPublished(service: string, release: number, states: string[]): Promise<void>;
  /**
   * A new release of a known service (v = next number); with an idempotency key, a repeated
   * request returns the release it made the first time (`created: false`). `requestHash`
   * tells a reuse of the key for a different request (then `conflict: true`). A `config`
   * release deploys the deployed release's image, decided in the same transaction by
   * `decideConfigRelease`: it is refused (FAILED_PRECONDITION) while a newer release is unfinished.
   */
  createRelease(
    service: string,
    init: ManualRelease,
    now: Date,
    idempotency?: {key: string; requestHash: string},
  ): Promise<{release: Release; created: boolean; conflict?: boolean}>;
  /** A page of releases, newest first; `next` is the release number to continue below. */
  listReleases(service: string, pageSize: number, below?: number): Promise<{releases: Release[]; next?: number}>;
  /** A service with at least one release; a service known only by its stored policy is not one. */
  getService(service: string): Promise<ServiceSummary | undefined>;
  /** The services with at least one release, by name. */
  listServices(): Promise<ServiceSummary[]>;
  /** The service's stored rollout policy; undefined when the store knows nothing of the service. */
  getPolicy(service: string): Promise<StoredPolicy | undefined>;
  /**
   * Stores `change(current)` as the service's policy in a transaction, with `actor` and `now`,
   * also before the service's first release. `change` returning undefined or `current` itself
   * writes nothing (`changed: false`: who and when stay those of the last change).
   */
  setPolicy(
    service: string,
    change: (current: RolloutPolicy | undefined) => RolloutPolicy | undefined,
    actor: string,
    now: Date,
  ): Promise<StoredPolicy & {changed: boolean}>;
  /** Releases not in a terminal state whose last change is before `before` (and after `after`), oldest first, at most `limit`. */
  listStale(before: Date, limit: number, after?: string): Promise<Release[]>;
  /** Which of `sources` were claimed already (by any delivery, or by the reconciler). */
  claimed(sources: Array<{bucket: string; object: string; generation: string}>): Promise<boolean[]>;
}

/** An object in Cloud Storage, as much as dropdeploy needs of it. */
export interface ObjectInfo {
  bucket: string;
  name: string;
  generation: string;
  size?: string;
  md5Hash?: string;
  crc32c?: string;
  contentType?: string;
  metadata: Record<string, string>;
}

/** A listed object: its live generation, and when that generation was made. */
export interface ListedObject extends ObjectInfo {
  timeCreated?: string;
}

/** Cloud Storage: read one object generation's metadata; list a bucket's live objects. */
export interface Objects {
  /** The object at `generation` (or the live one when omitted), or undefined when it does not exist. */
  get(bucket: string, object: string, generation?: string): Promise<ObjectInfo | undefined>;
  /** One page of the live objects under `prefix`, in name order; `next` continues it. */
  list(bucket: string, prefix: string, pageSize: number, pageToken?: string): Promise<{objects: ListedObject[]; next?: string}>;
}

/** Who may invoke a Cloud Run service, as its IAM policy and its settings say. */
export interface InvokerAccess {
  /** The bindings of the service's IAM policy; `conditional` when a binding has a condition. */
  bindings: Array<{role: string; members: string[]; conditional: boolean}>;
  /** Cloud Run's invoker check is off for the service (`invokerIamDisabled`): anyone reaching its URL may call it. */
  invokerIamDisabled: boolean;
}

/** Cloud Run IAM: read who may invoke a service of the controller's project and region. */
export interface InvokerPolicy {
  read(service: string): Promise<InvokerAccess>;
}

/** What Cloud Monitoring says of one revision's requests over a window. */
export interface RevisionMetrics {
  /** Requests counted (run.googleapis.com/request_count, every response code class). */
  requests: number;
  /** Of them, answered 5xx (response_code_class="5xx"). */
  errors5xx: number;
  /** 99th percentile of run.googleapis.com/request_latencies in ms; undefined with no requests. */
  p99Ms?: number;
}

/** Cloud Monitoring: a Cloud Run revision's request count and latency, from `start` to `end`. */
export interface Metrics {
  revision(service: string, revision: string, start: Date, end: Date): Promise<RevisionMetrics>;
}

/** How to check a revision over HTTP (a rollout's `check`, its timeout in ms). */
export interface ProbeSettings {
  path: string;
  expectStatus: number;
  timeoutMs: number;
  attempts: number;
}

/** HTTP checks of a revision's own URL. */
export interface Prober {
  /**
   * GETs `url` + `settings.path` up to `settings.attempts` times, until one answers
   * `expectStatus`; `audience`: the service URL an ID token is minted for (private services).
   */
  check(url: string, settings: ProbeSettings, audience?: string): Promise<{ok: boolean; status?: number; attempts: number; detail: string}>;
}
