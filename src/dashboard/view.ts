/**
 * The dashboard's pure part: the API's JSON in, what the page shows and offers out. No DOM, no
 * clock, no I/O, so it runs in node's table tests as it runs in the browser (this file is
 * compiled twice: CommonJS with the controller, an ES module for the page, see
 * src/dashboard/tsconfig.json). It reads the API's answers only, typed here as the browser
 * sees them (the controller's `Release` is checked assignable to {@link ReleaseJson} in the tests).
 */
import {isTerminalState} from '../releases/states.js';

/** A service as `GET /v1/services` lists it. */
export interface ServiceJson {
  service: string;
  lastRelease: number;
  deployed?: {release: number; image?: string; revision?: string; url?: string; time: string};
}

/** One history entry of a release. */
export interface HistoryJson {
  state: string;
  time: string;
  reason?: string;
  traffic?: number;
}

/** One deploy target (region and project) of a multi-target release, the primary first. */
export interface TargetJson {
  region: string;
  project: string;
  state: string;
  revision?: string;
  url?: string;
  error?: {code: string; message: string};
  previousRevision?: string;
  supersededBy?: number;
}

/** A release as `GET /v1/services/{s}/releases` answers it (the fields the page reads). */
export interface ReleaseJson {
  service: string;
  release: number;
  state: string;
  trigger: string;
  actor: string;
  source?: {bucket: string; object: string; generation: string; size?: string; md5Hash?: string};
  rollbackOf?: number;
  env?: {set?: Record<string, string>; unset?: string[]; redacted?: string[]} | object;
  buildId?: string;
  buildLogUrl?: string;
  image?: string;
  revision?: string;
  url?: string;
  /** Only on a release deployed to several targets; a one-region release has none. */
  targets?: TargetJson[];
  error?: {code: string; message: string};
  supersededBy?: number;
  rollout?: {
    policy: {strategy?: string; steps?: number[]} | object;
    traffic: number;
    stable: {release: number; revision: string};
    tagUrl?: string;
    paused?: {by: string; time: string};
    pending?: 'promote' | 'abort';
    lastCheck?: {kind: string; ok: boolean; time: string; traffic: number; detail: string};
  };
  preview?: {name: string; url?: string};
  createTime: string;
  updateTime: string;
  history: HistoryJson[];
}

/** A preview as `GET /v1/services/{s}/previews` lists it. */
export interface PreviewJson {
  name: string;
  latestRelease: number;
  release?: number;
  revision?: string;
  url?: string;
  time?: string;
}

/** How a state looks: in progress, done well, ended badly, or set aside. */
export type Tone = 'progress' | 'ok' | 'failed' | 'neutral';

/** An action the page offers, carried out by one API call. */
export interface Action {
  kind: 'redeploy' | 'rollback' | 'promote' | 'abort' | 'pause' | 'resume';
  /** The button's text. */
  label: string;
  /** What the confirmation dialog asks. */
  confirm: string;
  method: 'POST';
  path: string;
  body: Record<string, unknown>;
}

/** One step of a release's history, as the timeline lists it. */
export interface StepView {
  state: string;
  tone: Tone;
  time: string;
  detail?: string;
}

/** One target of a release: where it runs, how its deploy stands, its own URL. */
export interface TargetView {
  region: string;
  /** Only when it is not the controller's own (the primary target's). */
  project?: string;
  /** `europe-west1`, or `asia-east1 (project other-project)`. */
  name: string;
  state: string;
  tone: Tone;
  revision?: string;
  url?: string;
  /** Why it failed, or what became of it: "back on web-00003", "superseded by v7". */
  error?: string;
  detail?: string;
}

/** One release, as the timeline shows it. */
export interface ReleaseView {
  /** A stable element id for the release (focus survives a refresh). */
  id: string;
  release: number;
  label: string;
  state: string;
  tone: Tone;
  /** What the release is: "upload of hello/v3.tgz", "rollback to v2", "environment change". */
  what: string;
  trigger: string;
  actor: string;
  createTime: string;
  updateTime: string;
  serving: boolean;
  source?: string;
  generation?: string;
  image?: string;
  digest?: string;
  buildLogUrl?: string;
  url?: string;
  revision?: string;
  error?: string;
  /** A multi-target release's targets, the primary first (none for a one-region release). */
  targets?: TargetView[];
  preview?: {name: string; url?: string};
  rollout?: {traffic: number; stable: string; paused?: string; pending?: string; lastCheck?: string};
  steps: StepView[];
  actions: Action[];
}

/** A service, as the overview and its section head show it. */
export interface ServiceView {
  id: string;
  name: string;
  /** The release serving the main URL, if one does. */
  serving?: {
    release: number;
    label: string;
    url?: string;
    digest?: string;
    since: string;
    by?: string;
    trigger?: string;
    /** Where the serving release runs, when it was deployed to several targets. */
    targets?: TargetView[];
  };
  /** What is going on: "serving v3", "v5 building", "v5 build_failed (serving v3)". */
  status: string;
  tone: Tone;
  /** The newest change: when, by whom, which release. */
  lastChange?: {time: string; actor: string; label: string};
  /** Previews: the release each tag serves (or, none yet, the newest claimed for it) and its own URL. */
  previews: {name: string; label: string; url?: string}[];
  timeline: ReleaseView[];
  actions: Action[];
}

const FAILED = new Set(['build_failed', 'deploy_failed', 'rejected', 'rolled_back']);

/** The tone of a state. */
export function toneOf(state: string): Tone {
  if (state === 'deployed') return 'ok';
  if (FAILED.has(state)) return 'failed';
  if (isTerminalState(state)) return 'neutral';
  return 'progress';
}

const TARGET_TONES: Record<string, Tone> = {
  pending: 'progress',
  deploying: 'progress',
  deployed: 'ok',
  failed: 'failed',
  // Put back on the revision that served there before: not serving this release, not broken either.
  rolled_back: 'neutral',
  skipped: 'neutral',
  superseded: 'neutral',
};

/**
 * A release's targets for the page, the primary first. The primary is the controller's own region
 * and project (the API refuses any other first), so a project is named only where it differs from
 * the primary's. Undefined when the release has no targets: it looks as a one-region release does.
 */
export function targetsView(targets: TargetJson[] | undefined): TargetView[] | undefined {
  if (!targets?.length) return undefined;
  const home = targets[0].project;
  return targets.map((t) => {
    const own = t.project === home;
    const v: TargetView = {
      region: t.region,
      name: own ? t.region : `${t.region} (project ${t.project})`,
      state: t.state,
      tone: TARGET_TONES[t.state] ?? 'neutral',
    };
    if (!own) v.project = t.project;
    if (t.revision) v.revision = t.revision;
    const url = safeHttpUrl(t.url);
    if (url) v.url = url;
    if (t.error) v.error = `${t.error.code}: ${t.error.message}`;
    if (t.state === 'rolled_back' && t.previousRevision) v.detail = `back on ${t.previousRevision}`;
    else if (t.state === 'superseded' && t.supersededBy !== undefined) v.detail = `runs v${t.supersededBy} already`;
    return v;
  });
}

/** The service a location hash (`#name`) names; undefined for none or one that is not valid percent-encoding (a hand-made link). */
export function serviceOfHash(hash: string): string | undefined {
  const raw = hash.startsWith('#') ? hash.slice(1) : hash;
  if (!raw) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** `href` for a link the API gave, only when it is http(s): a `javascript:` URL never becomes a link. */
export function safeHttpUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

/** The digest of an image reference (`…@sha256:abc`), or undefined when it has none. */
export function digestOf(image: string | undefined): string | undefined {
  const at = image?.lastIndexOf('@') ?? -1;
  return at >= 0 ? image!.slice(at + 1) : undefined;
}

/** A digest cut to its first 12 hex digits, as `docker images` shows one. */
export function shortDigest(digest: string): string {
  const m = /^(sha256:)([0-9a-f]{12})[0-9a-f]+$/.exec(digest);
  return m ? `${m[1]}${m[2]}` : digest;
}

/** "12 s ago", "5 min ago", "3 h ago", "2 d ago" from two instants (now passed in). */
export function ago(iso: string, now: Date): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((now.getTime() - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

function what(r: ReleaseJson): string {
  switch (r.trigger) {
    case 'upload':
      return r.preview ? `preview ${r.preview.name}: upload of ${r.source?.object ?? '?'}` : `upload of ${r.source?.object ?? '?'}`;
    case 'redeploy':
      return `redeploy of ${r.source?.object ?? 'the newest source'}`;
    case 'rollback':
      return `rollback to v${r.rollbackOf ?? '?'}`;
    case 'config':
      return 'environment change';
    default:
      return r.trigger;
  }
}

const base = (path: string, service: string) => `/v1/services/${encodeURIComponent(service)}${path}`;

/** The actions the API would take on release `r` now (`servingRelease`: the one on the main URL). */
export function releaseActions(r: ReleaseJson, servingRelease: number | undefined): Action[] {
  const label = `v${r.release}`;
  const out: Action[] = [];
  const control = (kind: 'promote' | 'abort' | 'pause' | 'resume', text: string, confirm: string) =>
    out.push({kind, label: text, confirm, method: 'POST', path: base(`/releases/${r.release}:${kind}`, r.service), body: {}});
  if ((r.state === 'verifying' || r.state === 'rolling_out') && r.rollout) {
    if (!r.rollout.pending) {
      control('promote', `Promote ${label}`, `Move all traffic of ${r.service} to ${label} now, skipping the remaining steps?`);
      control(
        'abort',
        `Abort ${label}`,
        `Abort the rollout of ${label} and return all traffic of ${r.service} to v${r.rollout.stable.release}?`,
      );
    }
    if (r.rollout.paused) control('resume', `Resume ${label}`, `Resume the rollout of ${label} of ${r.service}?`);
    else control('pause', `Pause ${label}`, `Pause the rollout of ${label} of ${r.service} at ${r.rollout.traffic} %?`);
  }
  // The API rolls back only to a release that was deployed (it has an image); previews never serve the main URL.
  if (r.state === 'deployed' && r.image && !r.preview && r.release !== servingRelease) {
    out.push({
      kind: 'rollback',
      label: `Roll back to ${label}`,
      confirm: `Deploy ${label}'s image of ${r.service} again, as a new release (no rebuild)?`,
      method: 'POST',
      path: base(':rollback', r.service),
      body: {release: r.release},
    });
  }
  return out;
}

/** One release for the timeline. */
export function releaseView(r: ReleaseJson, servingRelease: number | undefined): ReleaseView {
  const digest = digestOf(r.image);
  const v: ReleaseView = {
    id: `release-${r.service}-${r.release}`,
    release: r.release,
    label: `v${r.release}`,
    state: r.state,
    tone: toneOf(r.state),
    what: what(r),
    trigger: r.trigger,
    actor: r.actor,
    createTime: r.createTime,
    updateTime: r.updateTime,
    serving: r.release === servingRelease,
    steps: r.history.map((h) => {
      const detail = [h.traffic !== undefined ? `${h.traffic} % of traffic` : '', h.reason ?? ''].filter(Boolean).join(': ');
      return {state: h.state, tone: toneOf(h.state), time: h.time, ...(detail ? {detail} : {})};
    }),
    actions: releaseActions(r, servingRelease),
  };
  if (r.source) {
    v.source = `gs://${r.source.bucket}/${r.source.object}`;
    v.generation = r.source.generation;
  }
  if (r.image) v.image = r.image;
  if (digest) v.digest = digest;
  const log = safeHttpUrl(r.buildLogUrl);
  if (log) v.buildLogUrl = log;
  const url = safeHttpUrl(r.url);
  if (url) v.url = url;
  if (r.revision) v.revision = r.revision;
  const targets = targetsView(r.targets);
  if (targets) v.targets = targets;
  if (r.error) v.error = `${r.error.code}: ${r.error.message}`;
  else if (r.state === 'superseded' && r.supersededBy !== undefined) v.error = `superseded by v${r.supersededBy}`;
  if (r.preview) v.preview = {name: r.preview.name, ...(safeHttpUrl(r.preview.url) ? {url: safeHttpUrl(r.preview.url)} : {})};
  if (r.rollout) {
    const ro = r.rollout;
    v.rollout = {traffic: ro.traffic, stable: `v${ro.stable.release} (${ro.stable.revision})`};
    if (ro.paused) v.rollout.paused = `paused by ${ro.paused.by} at ${ro.paused.time}`;
    if (ro.pending) v.rollout.pending = `${ro.pending} requested`;
    if (ro.lastCheck)
      v.rollout.lastCheck = `${ro.lastCheck.kind} check at ${ro.lastCheck.traffic} %: ${ro.lastCheck.ok ? 'passed' : 'failed'} (${ro.lastCheck.detail})`;
  }
  return v;
}

/** The release serving the main URL: the store's `deployed`, else the newest deployed main-line release listed. */
function servingOf(s: ServiceJson, releases: ReleaseJson[]): number | undefined {
  if (s.deployed) return s.deployed.release;
  return releases.find((r) => r.state === 'deployed' && !r.preview)?.release;
}

/** A service with its releases (newest first, as the API lists them) and previews. */
export function serviceView(s: ServiceJson, releases: ReleaseJson[], previews: PreviewJson[] = []): ServiceView {
  const servingRelease = servingOf(s, releases);
  const serving = releases.find((r) => r.release === servingRelease);
  const mainLine = releases.filter((r) => !r.preview);
  const newest = mainLine[0];
  const view: ServiceView = {
    id: `service-${s.service}`,
    name: s.service,
    status: 'no release deployed',
    tone: 'neutral',
    previews: previews.map((p) => {
      const url = safeHttpUrl(p.url);
      const label = p.release !== undefined ? `v${p.release}` : `v${p.latestRelease} (not deployed yet)`;
      return {name: p.name, label, ...(url ? {url} : {})};
    }),
    timeline: releases.map((r) => releaseView(r, servingRelease)),
    actions: [],
  };
  if (servingRelease !== undefined) {
    const digest = digestOf(s.deployed?.image ?? serving?.image);
    const url = safeHttpUrl(s.deployed?.url ?? serving?.url);
    const targets = targetsView(serving?.targets);
    view.serving = {
      release: servingRelease,
      label: `v${servingRelease}`,
      since: s.deployed?.time ?? serving?.updateTime ?? '',
      ...(url ? {url} : {}),
      ...(digest ? {digest} : {}),
      ...(serving ? {by: serving.actor, trigger: serving.trigger} : {}),
      ...(targets ? {targets} : {}),
    };
    view.status = `serving v${servingRelease}`;
    view.tone = 'ok';
  }
  if (newest && newest.release !== servingRelease) {
    const tone = toneOf(newest.state);
    if (tone === 'progress' || tone === 'failed') {
      view.status = `v${newest.release} ${newest.state}${servingRelease !== undefined ? ` (serving v${servingRelease})` : ''}`;
      view.tone = tone;
    }
  }
  const last = releases.reduce<ReleaseJson | undefined>((a, r) => (!a || r.updateTime > a.updateTime ? r : a), undefined);
  if (last) view.lastChange = {time: last.updateTime, actor: last.actor, label: `v${last.release} ${last.state}`};
  if (releases.some((r) => r.source)) {
    view.actions.push({
      kind: 'redeploy',
      label: `Redeploy ${s.service}`,
      confirm: `Rebuild the newest source of ${s.service} and deploy it as a new release?`,
      method: 'POST',
      path: base(':redeploy', s.service),
      body: {},
    });
  }
  return view;
}

/**
 * What changed between two reads, in words for the page's live region: a new release, a
 * release's new state. Nothing on the first read (`before` undefined). A release read now and
 * not before is new only if it is newer than every one read before of its service (a longer
 * page shows older releases too).
 */
export function announcements(before: ReleaseJson[] | undefined, after: ReleaseJson[]): string[] {
  if (!before) return [];
  const was = new Map(before.map((r) => [`${r.service}/${r.release}`, r.state]));
  const newest = new Map<string, number>();
  for (const r of before) newest.set(r.service, Math.max(newest.get(r.service) ?? 0, r.release));
  const out: string[] = [];
  for (const r of [...after].sort((a, b) => a.release - b.release)) {
    const old = was.get(`${r.service}/${r.release}`);
    if (old === undefined) {
      if (r.release > (newest.get(r.service) ?? 0)) out.push(`${r.service} v${r.release} (${what(r)}): ${r.state}`);
    } else if (old !== r.state) out.push(`${r.service} v${r.release}: ${old} → ${r.state}`);
  }
  return out;
}

/** An API error answer's message, or a sentence for an answer that is not one. */
export function errorMessage(status: number, body: unknown): string {
  const m = (body as {error?: {message?: unknown}} | null)?.error?.message;
  return typeof m === 'string' && m ? `${status}: ${m}` : `the API answered ${status} without an error message`;
}
