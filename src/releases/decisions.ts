/**
 * The decisions the release store makes inside its transactions: who may take a lease, when a
 * build is adopted, whether a release deploys, waits, finishes a stalled newer deploy or is
 * superseded. Pure: the store reads, asks one of these, and writes what it answers. Time comes
 * in as an argument.
 */
import {
  markBuilding,
  markDeployed,
  markDeployFailed,
  markDeploying,
  markSuperseded,
  TERMINAL,
  transition,
  type Release,
  type ReleaseError,
} from './release';
import type {RecordedEnvVar} from './deployed-env';
import type {RolloutRecord} from './rollout';
import type {TargetRecord} from './targets';
import {ROLLOUT_STATES} from './states';

/** A lease on one step: who holds it, and until when (ms since the epoch). */
export interface Lease {
  holder: string;
  until: number;
}

/** What the store keeps of a release besides the record: its build lease and how often a build start began. */
export interface BuildLeaseState {
  release: Release;
  buildLease?: Lease | null;
  buildAttempts?: number;
}

/** The service's deploy lock: the release it is for, its holder, until when. */
export interface DeployLock extends Lease {
  release: number;
}

/** What the store keeps of a service for deploy decisions. */
export interface ServiceState {
  /** The newest release recorded as deployed. */
  deployed?: number;
  lock?: DeployLock | null;
  /** The newest release that ever started deploying (never decreases). */
  deployStarted?: number;
}

/** Whether a lease is held by someone other than `holder` at `now`. */
function liveOther<L extends Lease>(lease: L | null | undefined, holder: string, now: Date): L | undefined {
  return lease && lease.holder !== holder && lease.until > now.getTime() ? lease : undefined;
}

/** The outcome of claiming an uploaded generation. */
export type ClaimDecision = {kind: 'known'; release: number} | {kind: 'create'; release: number};

/**
 * A generation already claimed is that release (a duplicate); otherwise it becomes the
 * service's next number. `renumber` numbers anew a claim whose release is missing (a store
 * from before claim and release were one write).
 */
export function decideClaim(claimed: number | undefined, lastRelease: number | undefined, renumber = false): ClaimDecision {
  if (claimed !== undefined && !renumber) return {kind: 'known', release: claimed};
  return {kind: 'create', release: (lastRelease ?? 0) + 1};
}

/**
 * Whether a known claim is this very claim, made by an attempt whose answer was lost: the
 * release is still `accepted` under this holder's build lease, so its creator goes on.
 */
export function isOwnClaim(s: BuildLeaseState, holder: string): boolean {
  return s.release.state === 'accepted' && s.buildLease?.holder === holder;
}

/** What taking the build-start lease of a release comes to. */
export type BuildLeaseDecision =
  | {kind: 'done'}
  | {kind: 'busy'; holder: string}
  /** `revoke`: the expired holder whose fencing token goes; `earlierAttempt`: a build may exist already. */
  | {kind: 'go'; lease: Lease; attempts: number; earlierAttempt: boolean; revoke?: string};

/**
 * The build lease of an `accepted` release: free, expired, or already this holder's → go;
 * another's live lease → busy; past `accepted` → done (nothing to start).
 */
export function decideBuildLease(s: BuildLeaseState, holder: string, now: Date, leaseMs: number): BuildLeaseDecision {
  if (s.release.state !== 'accepted') return {kind: 'done'};
  const other = liveOther(s.buildLease, holder, now);
  if (other) return {kind: 'busy', holder: other.holder};
  const attempts = s.buildAttempts ?? 0;
  const revoke = s.buildLease && s.buildLease.holder !== holder ? s.buildLease.holder : undefined;
  return {
    kind: 'go',
    lease: {holder, until: now.getTime() + leaseMs},
    attempts: attempts + 1,
    earlierAttempt: attempts > 0,
    ...(revoke ? {revoke} : {}),
  };
}

/** What adopting a build whose id was never recorded comes to. */
export type AdoptionDecision = {kind: 'done'} | {kind: 'busy'} | {kind: 'go'; release: Release; revoke?: string};

/**
 * An `accepted` release adopts `build` once nobody holds its build lease (a live holder is
 * about to record it itself); past `accepted` there is nothing to adopt.
 */
export function decideAdoption(s: BuildLeaseState, build: {buildId: string; logUrl?: string}, now: Date): AdoptionDecision {
  if (s.release.state !== 'accepted') return {kind: 'done'};
  if (s.buildLease && s.buildLease.until > now.getTime()) return {kind: 'busy'};
  const release = markBuilding(s.release, build, now).release;
  return s.buildLease ? {kind: 'go', release, revoke: s.buildLease.holder} : {kind: 'go', release};
}

/** What taking the service's deploy lock for a release comes to. */
export type DeployLeaseDecision =
  /** Terminal already (`write` false), or superseded now (`write` true: store `release`). */
  | {kind: 'done'; release: Release; write: boolean}
  /** Another live holder deploys release `holder`. */
  | {kind: 'busy'; holder: number}
  /** Release `release` started deploying and is newer: read it, and ask again with it. */
  | {kind: 'read'; release: number}
  /** That newer release stopped half way with nobody holding the lock: finish it first. */
  | {kind: 'stalled'; newer: Release}
  | {kind: 'go'; release: Release; lock: DeployLock; deployStarted: number};

/**
 * Newest wins: a release older than the deployed one is superseded; one deploy per service
 * at a time; an older release waits while a newer one that started deploying has not ended
 * (it may already serve). `newer` is the release named by an earlier `read` answer (null: it
 * does not exist).
 */
export function decideDeployLease(
  release: Release,
  svc: ServiceState,
  image: string,
  holder: string,
  now: Date,
  leaseMs: number,
  newer?: Release | null,
): DeployLeaseDecision {
  // A release rolling out has its revision: its steps run on their own lock (rollout-lease.ts).
  if (TERMINAL.has(release.state) || ROLLOUT_STATES.has(release.state)) return {kind: 'done', release, write: false};
  const n = release.release;
  const deployed = svc.deployed ?? 0;
  if (deployed > n) return {kind: 'done', release: markSuperseded(release, deployed, now).release, write: true};
  const lock = liveOther(svc.lock, holder, now);
  if (lock) return {kind: 'busy', holder: lock.release};
  const started = svc.deployStarted ?? 0;
  if (started > n) {
    if (newer === undefined || (newer && newer.release !== started)) return {kind: 'read', release: started};
    // A newer release got as far as its own revision (rolling out, or rolled back): this older
    // code never takes traffic after it.
    if (newer && (ROLLOUT_STATES.has(newer.state) || newer.state === 'rolled_back'))
      return {kind: 'done', release: markSuperseded(release, newer.release, now).release, write: true};
    // No live lock is held (checked above): that deploy stopped half way.
    if (newer && !TERMINAL.has(newer.state)) return {kind: 'stalled', newer};
  }
  const deploying = markDeploying(release, release.image ?? image, now).release;
  return {kind: 'go', release: deploying, lock: {release: n, holder, until: now.getTime() + leaseMs}, deployStarted: Math.max(started, n)};
}

/** How a deploy ended, as the deploy step reports it to the store. */
export type DeployResult = (
  | /** `env`: the serving container's environment as deployed, as `recordEnv` records it. */
    {revision: string; url?: string; env?: RecordedEnvVar[]}
    /** The revision is ready with no traffic and a tag: the rollout begins (`verifying`). */
  | {revision: string; url?: string; env?: RecordedEnvVar[]; rollout: RolloutRecord}
  | {error: ReleaseError}
  /** The live service already runs release `supersededBy`, which is newer. */
  | {supersededBy: number}
) & {
  /** With several targets: how each ended (recorded with the outcome). */
  targets?: TargetRecord[];
  /** With several targets that did not all deploy: the env the primary deployed, when it serves this release. */
  env?: RecordedEnvVar[];
};

/** What recording a deploy's end writes. */
export interface FinishDecision {
  release: Release;
  /** The service's new deployed release, when this one now serves and is the newest. */
  deployed?: {release: number; image?: string; revision: string; url?: string; time: string};
  /** Whether the lock goes: only this deploy's own (an expired one may have been taken over). */
  unlock: boolean;
}

/**
 * Records `result` on `release`; a success becomes the service's deployed release if it is the
 * newest. A failure counts only from the lock's holder: a handler whose lock was taken over
 * saw its own write refused, not the release fail, while the new holder deploys it.
 */
export function decideFinishDeploy(release: Release, svc: ServiceState, result: DeployResult, holder: string, now: Date): FinishDecision {
  let next: Release;
  let deployed: FinishDecision['deployed'];
  const ownLock = svc.lock?.holder === holder;
  // Several targets, not all deployed, but the primary serves this release (`keep`, or another
  // target runs a newer one): the release keeps its failure, and the service's deployed release
  // is still what the primary serves, so env changes, rollouts and status start from the code
  // that really runs there.
  const primary = result.targets?.[0];
  const served = primary?.state === 'deployed' && primary.revision ? primary : undefined;
  const serves = (r: Release): Release => {
    if (!served) return r;
    if ((svc.deployed ?? 0) < release.release)
      deployed = {release: release.release, image: r.image, revision: served.revision!, url: served.url, time: now.toISOString()};
    return {...r, revision: served.revision, url: served.url, ...(result.env ? {deployedEnv: result.env} : {})};
  };
  if ('error' in result) next = ownLock ? serves(markDeployFailed(release, result.error, now).release) : release;
  else if ('supersededBy' in result) next = serves(markSuperseded(release, result.supersededBy, now).release);
  else if ('rollout' in result) {
    const {revision, url, rollout, env} = result;
    const at = rollout.tagUrl ? ` at ${rollout.tagUrl}` : '';
    next = transition(
      release,
      'verifying',
      {revision, url, rollout, ...(env ? {deployedEnv: env} : {})},
      now,
      `revision ${revision} is ready with no traffic, tagged ${rollout.tag}${at}`,
    ).release;
  } else {
    // Cloud Run serves this release now, whatever else happened meanwhile: record it.
    next = markDeployed(release, result, now).release;
    if ((svc.deployed ?? 0) < release.release) {
      deployed = {release: release.release, image: next.image, revision: result.revision, url: result.url, time: now.toISOString()};
    }
  }
  if (result.targets && next !== release) next = {...next, targets: result.targets};
  return {release: next, ...(deployed ? {deployed} : {}), unlock: ownLock};
}

/** Whether `holder` holds the service's deploy lock for `release` (it may write the deploy's progress). */
export function holdsDeployLock(svc: ServiceState, holder: string, release: number): boolean {
  return svc.lock?.holder === holder && svc.lock.release === release;
}

/** The new end of `holder`'s lease, or undefined when it is no longer theirs to renew. */
export function renewedLease(lease: Lease | null | undefined, holder: string, now: Date, leaseMs: number): Lease | undefined {
  if (!lease || lease.holder !== holder) return undefined;
  return {...lease, until: Math.max(lease.until, now.getTime() + leaseMs)};
}

/** What making a config release (an environment change) comes to. */
export type ConfigReleaseDecision = {kind: 'create'; image: string} | {kind: 'refuse'; message: string};

/**
 * A config release deploys the image the service runs now, so it waits for nothing: it may be
 * made only when something is deployed and no newer release is still on its way. Made while an
 * upload builds, it would deploy first and, being newer, supersede that upload (newest wins).
 * `newer`: the releases numbered above the deployed one.
 */
export function decideConfigRelease(
  service: string,
  deployed: {release: number; image?: string} | undefined,
  newer: ReadonlyArray<Pick<Release, 'release' | 'state' | 'trigger' | 'preview'>>,
): ConfigReleaseDecision {
  // A preview is not the main line: it neither waits for an env change nor holds one up.
  const busy = newer.filter((r) => !TERMINAL.has(r.state) && !r.preview).sort((a, b) => a.release - b.release)[0];
  if (busy) {
    return {
      kind: 'refuse',
      message:
        `release v${busy.release} of "${service}" (${busy.trigger}) is ${busy.state}; an environment change now would supersede it. ` +
        (busy.state === 'verifying' || busy.state === 'rolling_out'
          ? `End its rollout first (\`dropdeploy promote ${service}\` or \`dropdeploy abort ${service}\`), then try again`
          : `Wait for it to end (\`dropdeploy releases ${service}\`), then try again`),
    };
  }
  if (!deployed) {
    return {
      kind: 'refuse',
      message: `nothing of "${service}" is deployed yet; its environment can be changed once a release is deployed`,
    };
  }
  if (!deployed.image)
    return {kind: 'refuse', message: `the deployed release v${deployed.release} of "${service}" records no image; redeploy it first`};
  return {kind: 'create', image: deployed.image};
}
