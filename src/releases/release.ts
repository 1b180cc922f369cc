/**
 * The release record and its state machine. Pure: time comes in as an argument.
 */
import {PermanentError} from '../errors';
import type {RecordedEnvVar} from './deployed-env';
import type {EnvChangeRecord} from './env-record';
import type {RolloutRecord} from './rollout';
import type {PartialPolicy} from './rollout-policy';
import type {TargetRecord} from './targets';
import {STATES, TERMINAL, type State} from './states';

export {STATES, TERMINAL, type State};

/** What caused a release; `config`: an environment change (the deployed image again, with a new env). */
export type Trigger = 'upload' | 'redeploy' | 'rollback' | 'config';

/** The archive a release was built from, as Cloud Storage described it. */
export interface Source {
  bucket: string;
  object: string;
  /** int64 as a decimal string, exactly as Cloud Storage sends it. */
  generation: string;
  size?: string;
  md5Hash?: string;
  crc32c?: string;
  contentType?: string;
  /** When Cloud Storage created this generation (RFC 3339): the upload's place in time. */
  timeCreated?: string;
  /** Functions Framework target and signature type, from object metadata. */
  functionTarget?: string;
  signatureType?: 'http' | 'event' | 'cloudevent';
  /** The upload's own rollout policy (object metadata `dropdeploy-rollout`), over the service's. */
  rollout?: PartialPolicy;
}

/** The preview a release deploys: a revision with no traffic, tagged `name`. */
export interface PreviewRef {
  name: string;
  url?: string;
}

/** An error recorded on a release: a stable code and a message a person can act on. */
export interface ReleaseError {
  code: string;
  message: string;
}

/** One entry of a release's history. */
export interface HistoryEntry {
  state: State;
  time: string;
  reason?: string;
  /** For `rolling_out`: the percent of traffic this step moved to the new revision. */
  traffic?: number;
}

/** A release, as stored and as published (minus the outbox bookkeeping). */
export interface Release {
  service: string;
  release: number;
  state: State;
  trigger: Trigger;
  /** Who or what caused it: an uploader's object, an operator's principal. */
  actor: string;
  source?: Source;
  /** For a rollback: the release whose image is deployed again. */
  rollbackOf?: number;
  /** For a config release: the environment change it makes (secret-looking values left out). */
  env?: EnvChangeRecord;
  /**
   * The serving container's environment this release deployed, in order: values that do not
   * look secret, the others `redacted`, Secret Manager references as references. A rollback
   * to this release restores it.
   */
  deployedEnv?: RecordedEnvVar[];
  buildId?: string;
  buildLogUrl?: string;
  /** The image by digest, once the build produced one. */
  image?: string;
  /** The primary target's revision and URL (with one target, the only one's). */
  revision?: string;
  url?: string;
  /**
   * With several targets (regions or projects): each one's revision, URL and state, the primary
   * first. Written as the deploy goes (the write-ahead log a redelivery resumes from).
   */
  targets?: TargetRecord[];
  error?: ReleaseError;
  supersededBy?: number;
  /** A progressive rollout (policy `verified` or `canary`): where it stands. */
  rollout?: RolloutRecord;
  /** A preview (`<service>/previews/<name>.tgz`): its name (the traffic tag) and, once deployed, its own URL. */
  preview?: PreviewRef;
  createTime: string;
  updateTime: string;
  history: HistoryEntry[];
  /** Status events published (the outbox): their {@link EventKey}s. */
  published: EventKey[];
}

const NEXT: Record<State, readonly State[]> = {
  accepted: ['building', 'deploying', 'build_failed', 'superseded', 'rejected'],
  building: ['deploying', 'build_failed', 'superseded'],
  deploying: ['verifying', 'deployed', 'deploy_failed', 'superseded'],
  verifying: ['rolling_out', 'deployed', 'rolled_back', 'deploy_failed', 'superseded'],
  rolling_out: ['deployed', 'rolled_back', 'deploy_failed', 'superseded'],
  deployed: [],
  build_failed: [],
  deploy_failed: [],
  superseded: [],
  rejected: [],
  rolled_back: [],
};
const RANK: Record<State, number> = {
  accepted: 0,
  building: 1,
  deploying: 2,
  verifying: 3,
  rolling_out: 4,
  deployed: 5,
  build_failed: 5,
  deploy_failed: 5,
  superseded: 5,
  rejected: 5,
  rolled_back: 5,
};

/** The outcome of a transition: the new record, and whether anything changed. */
export interface Transitioned {
  release: Release;
  changed: boolean;
}

/** Raised for a move the state machine forbids, such as deployed → building. */
export class IllegalTransitionError extends PermanentError {
  constructor(
    readonly from: State,
    readonly to: State,
    service: string,
    release: number,
  ) {
    super(`release ${service} v${release} cannot move from ${from} to ${to}`, 'ILLEGAL_TRANSITION');
  }
}

/** True when the state machine allows `from → to`. */
export function canTransition(from: State, to: State): boolean {
  return NEXT[from].includes(to);
}

/**
 * Moves `r` to `to` with `patch` applied. Already in `to`, or already past it on the way to
 * a terminal state (a stale, redelivered event): no change. Anything else illegal throws.
 */
export function transition(r: Release, to: State, patch: Partial<Release>, now: Date, reason?: string): Transitioned {
  if (r.state === to) return {release: r, changed: false};
  if (!canTransition(r.state, to)) {
    if (!TERMINAL.has(to) && RANK[r.state] > RANK[to]) return {release: r, changed: false};
    throw new IllegalTransitionError(r.state, to, r.service, r.release);
  }
  const time = now.toISOString();
  const entry: HistoryEntry = reason ? {state: to, time, reason} : {state: to, time};
  return {release: {...r, ...patch, state: to, updateTime: time, history: [...r.history, entry]}, changed: true};
}

/** accepted → building: the build was created. */
export function markBuilding(r: Release, build: {buildId: string; logUrl?: string}, now: Date): Transitioned {
  return transition(r, 'building', {buildId: build.buildId, buildLogUrl: build.logUrl}, now, `build ${build.buildId} started`);
}

/** → build_failed: the build ended in a status other than SUCCESS, or could not be created. */
export function markBuildFailed(r: Release, error: ReleaseError, now: Date): Transitioned {
  return transition(r, 'build_failed', {error}, now, error.message);
}

/** → deploying: the image is known and this release holds the service's deploy lock. */
export function markDeploying(r: Release, image: string, now: Date): Transitioned {
  return transition(r, 'deploying', {image}, now, `deploying ${image}`);
}

/** deploying → deployed: Cloud Run serves the revision. */
export function markDeployed(r: Release, result: {revision: string; url?: string; env?: RecordedEnvVar[]}, now: Date): Transitioned {
  const patch: Partial<Release> = {revision: result.revision, url: result.url};
  if (result.env) patch.deployedEnv = result.env;
  return transition(r, 'deployed', patch, now, `revision ${result.revision} serves 100% of traffic`);
}

/** deploying → deploy_failed: Cloud Run refused the update or the revision did not become ready. */
export function markDeployFailed(r: Release, error: ReleaseError, now: Date): Transitioned {
  return transition(r, 'deploy_failed', {error}, now, error.message);
}

/** → superseded: a newer release of the service was deployed first. */
export function markSuperseded(r: Release, by: number, now: Date): Transitioned {
  return transition(r, 'superseded', {supersededBy: by}, now, `release v${by} of ${r.service} was deployed first`);
}

/** accepted → rejected: the source can never be built. */
export function markRejected(r: Release, error: ReleaseError, now: Date): Transitioned {
  return transition(r, 'rejected', {error}, now, error.message);
}

/** What a release is made from, apart from its service and number. */
export interface ReleaseOrigin {
  trigger: Trigger;
  actor: string;
  source?: Source;
  rollbackOf?: number;
  image?: string;
  /** For trigger `config`: the change (the store sets `image` to the deployed one). */
  env?: EnvChangeRecord;
  /** An upload under `<service>/previews/`: the preview it deploys. */
  preview?: PreviewRef;
}

/** A fresh release in state `accepted`. */
export function newRelease(init: ReleaseOrigin & {service: string; release: number}, now: Date): Release {
  const time = now.toISOString();
  const r: Release = {
    service: init.service,
    release: init.release,
    state: 'accepted',
    trigger: init.trigger,
    actor: init.actor,
    createTime: time,
    updateTime: time,
    history: [{state: 'accepted', time}],
    published: [],
  };
  if (init.source) r.source = init.source;
  if (init.rollbackOf !== undefined) r.rollbackOf = init.rollbackOf;
  if (init.image) r.image = init.image;
  if (init.env) r.env = init.env;
  if (init.preview) r.preview = init.preview;
  return r;
}

/**
 * What names one status event of a release: its state, or for a rollout step `rolling_out@<percent>`
 * (one event per step).
 */
export type EventKey = State | `rolling_out@${number}`;

/** The event key of a history entry. */
export function eventKey(h: HistoryEntry): EventKey {
  return h.state === 'rolling_out' && h.traffic !== undefined ? `rolling_out@${h.traffic}` : h.state;
}

/** The state and the step's traffic an event key names. */
export function parseEventKey(key: EventKey): {state: State; traffic?: number} {
  const m = /^rolling_out@(\d+)$/.exec(key);
  return m ? {state: 'rolling_out', traffic: Number(m[1])} : {state: key as State};
}

/** Events reached but not yet announced, oldest first: what the outbox still has to publish. */
export function unpublished(r: Release): EventKey[] {
  const seen = new Set<EventKey>();
  const out: EventKey[] = [];
  for (const h of r.history) {
    const key = eventKey(h);
    if (!seen.has(key) && !r.published.includes(key)) out.push(key);
    seen.add(key);
  }
  return out;
}
