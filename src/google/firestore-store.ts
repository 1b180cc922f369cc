/**
 * The release store on Firestore. Layout (`<root>` is DROPDEPLOY_FIRESTORE_ROOT):
 *   <root>_services/{service}                    — last release number, deployed release, deploy lock,
 *                                                  rollout policy (possibly alone, before a first release)
 *   <root>_services/{service}/releases/{n}       — the release record (+ its build lease)
 *   …/releases/{n}/leases/{holder}                — the build lease's fencing token, while held
 *   <root>_sources/{bucket/object#generation}    — which release an uploaded generation became
 * Every decision that two deliveries could race on is made inside a transaction, by the pure
 * functions of `releases/decisions.ts`: this adapter reads, asks, and writes what they answer.
 */
import {
  FieldPath,
  FieldValue,
  type DocumentReference,
  type DocumentSnapshot,
  type Firestore,
  type Query,
  type Transaction,
} from '@google-cloud/firestore';
import {createHash} from 'node:crypto';
import {PermanentError} from '../errors';
import {classify, grpcCode, Status} from './grpc-errors';
import type {LeaseOutcome, ManualRelease, PreviewRemovalLease, ReleaseStore, ServiceSummary, StoredPolicy} from '../ports';
import {
  decideAdoption,
  decideBuildLease,
  decideClaim,
  decideConfigRelease,
  decideDeployLease,
  decideFinishDeploy,
  holdsDeployLock,
  isOwnClaim,
  renewedLease,
  type BuildLeaseState,
  type DeployLock,
  type DeployResult,
  type Lease,
  type ServiceState,
} from '../releases/decisions';
import {sourceKey} from '../releases/naming';
import {
  claimedPreview,
  decideFinishPreview,
  decidePreviewLease,
  decidePreviewRemoval,
  listedPreviews,
  removedPreview,
  type PreviewState,
  type PreviewView,
} from '../releases/preview-decisions';
import {decideFinishStep, decideStepLease} from '../releases/rollout-lease';
import {ROLLOUT_STATES} from '../releases/states';
import {newRelease, STATES, TERMINAL, type PreviewRef, type Release, type Source, type Trigger} from '../releases/release';
import type {RolloutPolicy} from '../releases/rollout-policy';
import type {TargetRecord} from '../releases/targets';
import type {RecordedEnvVar} from '../releases/deployed-env';
import {KeyedMutex} from './keyed-mutex';

interface ServiceDoc {
  service: string;
  lastRelease?: number;
  deployed?: {release: number; image?: string; revision?: string; url?: string; time: string};
  lock?: DeployLock | null;
  /** The newest release that ever started deploying (never decreases). */
  deployStarted?: number;
  /** The service's rollout policy, who last changed it and when. */
  policy?: RolloutPolicy;
  policyUpdateTime?: string;
  policyUpdatedBy?: string;
  /** The service's previews by name: their own newest-wins, apart from the main line's. */
  previews?: Record<string, PreviewState>;
}

interface SourceDoc {
  bucket: string;
  object: string;
  generation: string;
  service: string;
  claimTime: string;
  release?: number;
}

/** A release document: the record, its build lease, and the root it belongs to (for the reconciler's query). */
type ReleaseDoc = Release & {buildLease?: Lease | null; buildAttempts?: number; root?: string};

/** What run() retries: contention, and the transient codes. */
const RETRIED: ReadonlySet<Status> = new Set([Status.ABORTED, Status.DEADLINE_EXCEEDED, Status.RESOURCE_EXHAUSTED, Status.UNAVAILABLE]);
const TX_ATTEMPTS = 12;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Two documents in one batched read inside a transaction. */
async function getBoth<A, B>(
  t: Transaction,
  a: DocumentReference<A>,
  b: DocumentReference<B>,
): Promise<[DocumentSnapshot<A>, DocumentSnapshot<B>]> {
  const [x, y] = await t.getAll(a as unknown as DocumentReference, b as unknown as DocumentReference);
  return [x as unknown as DocumentSnapshot<A>, y as unknown as DocumentSnapshot<B>];
}

/** Drops undefined fields, which Firestore refuses. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function toRelease(doc: ReleaseDoc): Release {
  const {buildLease: _l, buildAttempts: _a, root: _r, ...r} = doc;
  return r;
}

/** A release document as the decisions see it. */
function leaseState(doc: ReleaseDoc): BuildLeaseState {
  return {release: toRelease(doc), buildLease: doc.buildLease, buildAttempts: doc.buildAttempts};
}

/** A service document as the decisions see it. */
function serviceState(doc: ServiceDoc | undefined): ServiceState {
  return {deployed: doc?.deployed?.release, lock: doc?.lock, deployStarted: doc?.deployStarted};
}

/** {@link ReleaseStore} on Firestore. */
export class FirestoreReleaseStore implements ReleaseStore {
  private readonly queue = new KeyedMutex();

  constructor(
    private readonly db: Firestore,
    private readonly root: string,
  ) {}

  private serviceRef(service: string): DocumentReference<ServiceDoc> {
    return this.db.collection(`${this.root}_services`).doc(service) as DocumentReference<ServiceDoc>;
  }

  private releaseRef(service: string, n: number): DocumentReference<ReleaseDoc> {
    // Zero-padded so the console lists releases in order.
    return this.serviceRef(service).collection('releases').doc(String(n).padStart(10, '0')) as DocumentReference<ReleaseDoc>;
  }

  /**
   * The fencing token of a build lease: it exists while `holder` holds the lease, and whoever
   * takes the lease over (leaseBuild, adoptBuild) deletes it in the same transaction, so a
   * write that requires it can never land after a takeover.
   */
  private leaseTokenRef(service: string, n: number, holder: string): DocumentReference {
    return this.releaseRef(service, n).collection('leases').doc(holder);
  }

  /** A release read inside `t`, which must exist. */
  private async readRelease(
    t: Transaction,
    service: string,
    n: number,
  ): Promise<{ref: DocumentReference<ReleaseDoc>; doc: ReleaseDoc; release: Release}> {
    const ref = this.releaseRef(service, n);
    const snap = await t.get(ref);
    if (!snap.exists) throw new PermanentError(`release ${service} v${n} does not exist`, 'NOT_FOUND');
    const doc = snap.data()!;
    return {ref, doc, release: toRelease(doc)};
  }

  private sourceRef(source: Source): DocumentReference<SourceDoc> {
    return this.db
      .collection(`${this.root}_sources`)
      .doc(sourceKey(source.bucket, source.object, source.generation)) as DocumentReference<SourceDoc>;
  }

  /**
   * Runs a transaction, retrying contention (ABORTED) itself: the client's own retry waits
   * 1 s or more before the second attempt, which made a burst of uploads to one service crawl.
   * Jittered waits from 25 ms doubling to 1 s keep contended transactions moving. Transactions
   * on the same document (`key`: a service, or a release) are queued within this instance, so
   * they only contend with other instances.
   *
   * A transient failure (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED) is retried here
   * too, rather than failing the whole delivery. Its commit may have landed with the answer
   * lost; every transaction here is safe to run again: it finds its own writes (the same lease
   * holder, the state already reached) and does not repeat them.
   */
  private async run<T>(what: string, key: string, fn: (t: Transaction) => Promise<T>): Promise<T> {
    const attempt = async () => {
      for (let n = 1; ; n++) {
        try {
          return await this.db.runTransaction(fn, {maxAttempts: 1});
        } catch (err) {
          if (!RETRIED.has(grpcCode(err) ?? Status.OK) || n >= TX_ATTEMPTS) throw classify(err, `Firestore ${what}`);
          await sleep(Math.min(1000, 25 * 2 ** (n - 1)) * (0.5 + Math.random()));
        }
      }
    };
    return this.queue.run(key, attempt);
  }

  async claimSource(
    service: string,
    source: Source,
    init: {trigger: Trigger; actor: string; preview?: PreviewRef},
    now: Date,
    buildLease: {holder: string; leaseMs: number},
  ): Promise<{release: Release; created: boolean}> {
    return this.claim(service, source, init, now, buildLease, false);
  }

  private async claim(
    service: string,
    source: Source,
    init: {trigger: Trigger; actor: string; preview?: PreviewRef},
    now: Date,
    buildLease: {holder: string; leaseMs: number},
    renumber: boolean,
  ): Promise<{release: Release; created: boolean}> {
    const ref = this.sourceRef(source);
    // One transaction, two round trips (a batched read, the commit): the source's claim, the
    // number and the release are written together, so a claim never exists without its
    // release. Concurrent duplicates in this instance queue on the service; across instances
    // the loser of the commit retries and finds the winner's release.
    const claim = await this.run('release allocation', service, async (t): Promise<{known: number} | {created: Release}> => {
      // One batched read: parallel t.get()s are serialised by the transaction's lazy begin.
      const [src, svc] = await getBoth(t, ref, this.serviceRef(service));
      // A duplicate ends the transaction at once (its release is read after, without holding
      // the service's document).
      const decision = decideClaim(src.data()?.release, svc.data()?.lastRelease, renumber);
      if (decision.kind === 'known') return {known: decision.release};
      const n = decision.release;
      const release = newRelease({service, release: n, trigger: init.trigger, actor: init.actor, source, preview: init.preview}, now);
      const doc: ReleaseDoc = {
        ...release,
        root: this.root,
        buildLease: {holder: buildLease.holder, until: now.getTime() + buildLease.leaseMs},
        buildAttempts: 1,
      };
      t.create(this.releaseRef(service, n), plain(doc));
      t.create(this.leaseTokenRef(service, n, buildLease.holder), {until: doc.buildLease!.until});
      const previews = init.preview && {
        [init.preview.name]: claimedPreview(svc.data()?.previews?.[init.preview.name], n, source.generation),
      };
      t.set(this.serviceRef(service), plain({service, lastRelease: n, ...(previews ? {previews} : {})}), {merge: true});
      t.set(ref, {
        bucket: source.bucket,
        object: source.object,
        generation: source.generation,
        service,
        claimTime: now.toISOString(),
        release: n,
      });
      return {created: release};
    });
    if ('created' in claim) return {release: claim.created, created: true};
    const snap = await this.releaseRef(service, claim.known)
      .get()
      .catch((err) => {
        throw classify(err, 'Firestore read of a release');
      });
    const existing = snap.data();
    if (existing) return {release: toRelease(existing), created: isOwnClaim(leaseState(existing), buildLease.holder)};
    // Numbered but without its release (a store from before they were one write): number it anew.
    return this.claim(service, source, init, now, buildLease, true);
  }

  async get(service: string, n: number): Promise<Release | undefined> {
    const snap = await this.releaseRef(service, n)
      .get()
      .catch((err) => {
        throw classify(err, 'Firestore read of a release');
      });
    return snap.exists ? toRelease(snap.data()!) : undefined;
  }

  async update(service: string, n: number, change: (r: Release) => Release | undefined): Promise<Release> {
    return this.run('release update', `${service}#${n}`, async (t) => {
      const {ref, release: current} = await this.readRelease(t, service, n);
      const next = change(current);
      if (!next || next === current) return current;
      t.set(ref, plain(next), {merge: true});
      return next;
    });
  }

  async putHeld(next: Release, holder: string): Promise<boolean> {
    // One atomic batch: the release (update(), which never creates one) and the lease's token,
    // which must still exist. Either both land or neither.
    const batch = this.db.batch();
    batch.update(this.releaseRef(next.service, next.release), {...plain(next), buildLease: null} as never);
    batch.delete(this.leaseTokenRef(next.service, next.release, holder), {exists: true});
    try {
      await batch.commit();
      return true;
    } catch (err) {
      const code = grpcCode(err);
      if (code === Status.NOT_FOUND || code === Status.FAILED_PRECONDITION) return false;
      throw classify(err, 'Firestore write of a release');
    }
  }

  async adoptBuild(service: string, n: number, build: {buildId: string; logUrl?: string}, now: Date): Promise<LeaseOutcome<undefined>> {
    return this.run('build adoption', `${service}#${n}`, async (t) => {
      const {ref, doc, release} = await this.readRelease(t, service, n);
      const d = decideAdoption(leaseState(doc), build, now);
      if (d.kind !== 'go') return {kind: d.kind, release};
      if (d.revoke) t.delete(this.leaseTokenRef(service, n, d.revoke));
      t.set(ref, {...plain(d.release), buildLease: null}, {merge: true});
      return {kind: 'go', release: d.release, value: undefined};
    });
  }

  async leaseBuild(
    service: string,
    n: number,
    holder: string,
    now: Date,
    leaseMs: number,
  ): Promise<LeaseOutcome<{earlierAttempt: boolean}>> {
    return this.run('build lease', `${service}#${n}`, async (t) => {
      const {ref, doc, release} = await this.readRelease(t, service, n);
      const d = decideBuildLease(leaseState(doc), holder, now, leaseMs);
      if (d.kind !== 'go') return {kind: d.kind, release};
      if (d.revoke) t.delete(this.leaseTokenRef(service, n, d.revoke));
      t.set(this.leaseTokenRef(service, n, holder), {until: d.lease.until});
      t.update(ref, {buildLease: d.lease, buildAttempts: d.attempts});
      return {kind: 'go', release, value: {earlierAttempt: d.earlierAttempt}};
    });
  }

  async leaseDeploy(
    service: string,
    n: number,
    image: string,
    holder: string,
    now: Date,
    leaseMs: number,
  ): Promise<LeaseOutcome<{image: string}>> {
    return this.run('deploy lock', service, async (t) => {
      const rRef = this.releaseRef(service, n);
      const sRef = this.serviceRef(service);
      const [rSnap, sSnap] = await getBoth(t, rRef, sRef);
      if (!rSnap.exists) throw new PermanentError(`release ${service} v${n} does not exist`, 'NOT_FOUND');
      const release = toRelease(rSnap.data()!);
      if (release.preview) return this.leasePreviewDeploy(t, release, sSnap.data(), image, holder, now, leaseMs);
      const svc = serviceState(sSnap.data());
      let d = decideDeployLease(release, svc, image, holder, now, leaseMs);
      if (d.kind === 'read') {
        const newer = (await t.get(this.releaseRef(service, d.release))).data();
        d = decideDeployLease(release, svc, image, holder, now, leaseMs, newer ? toRelease(newer) : null);
      }
      switch (d.kind) {
        case 'done':
          if (d.write) t.set(rRef, plain(d.release), {merge: true});
          return {kind: 'done', release: d.release};
        case 'busy':
          return {kind: 'busy', release, holder: d.holder};
        case 'stalled':
          return {kind: 'busy', release, holder: d.newer.release, stalled: d.newer};
        case 'read':
          throw new Error(`deploy decision asked twice for release ${d.release}`);
        case 'go':
          t.set(rRef, plain(d.release), {merge: true});
          t.set(sRef, {service, lock: d.lock, deployStarted: d.deployStarted}, {merge: true});
          return {kind: 'go', release: d.release, value: {image: d.release.image ?? image}};
      }
    });
  }

  async finishDeploy(service: string, n: number, result: DeployResult, holder: string, now: Date): Promise<Release> {
    return this.run('deploy result', service, async (t) => {
      const rRef = this.releaseRef(service, n);
      const sRef = this.serviceRef(service);
      const [rSnap, sSnap] = await getBoth(t, rRef, sRef);
      const release = toRelease(rSnap.data()!);
      if (release.preview) {
        const name = release.preview.name;
        const f = decideFinishPreview(release, sSnap.data()?.lock, sSnap.data()?.previews?.[name], result, holder, now);
        const fields: unknown[] = [];
        if (f.preview) fields.push(new FieldPath('previews', name), plain(f.preview));
        if (f.unlock) fields.push('lock', null);
        if (fields.length) t.update(sRef, ...(fields as [string, unknown]));
        if (f.release !== release) t.set(rRef, plain(f.release), {merge: true});
        return f.release;
      }
      const d = decideFinishDeploy(release, serviceState(sSnap.data()), result, holder, now);
      if (d.deployed) t.set(sRef, plain({deployed: d.deployed}), {merge: true});
      if (d.unlock) t.set(sRef, {lock: null}, {merge: true});
      if (d.release !== release) t.set(rRef, plain(d.release), {merge: true});
      return d.release;
    });
  }

  async putTargets(
    service: string,
    n: number,
    targets: TargetRecord[],
    holder: string,
    now: Date,
    env?: RecordedEnvVar[],
  ): Promise<boolean> {
    return this.run('deploy targets', service, async (t) => {
      const sSnap = await t.get(this.serviceRef(service));
      if (!holdsDeployLock(serviceState(sSnap.data()), holder, n)) return false;
      // Only `targets`, the primary's env record once it deployed (a redelivery rebuilds the
      // outcome from it) and the time: the outbox marks `published` on the same record meanwhile.
      t.update(this.releaseRef(service, n), {
        targets: plain(targets),
        ...(env ? {deployedEnv: plain(env)} : {}),
        updateTime: now.toISOString(),
      });
      return true;
    });
  }

  async leaseRolloutStep(service: string, n: number, holder: string, now: Date, leaseMs: number): Promise<LeaseOutcome<undefined>> {
    return this.run('rollout step lock', service, async (t) => {
      const rRef = this.releaseRef(service, n);
      const sRef = this.serviceRef(service);
      const [rSnap, sSnap] = await getBoth(t, rRef, sRef);
      if (!rSnap.exists) throw new PermanentError(`release ${service} v${n} does not exist`, 'NOT_FOUND');
      const release = toRelease(rSnap.data()!);
      const d = decideStepLease(release, serviceState(sSnap.data()), holder, now, leaseMs);
      if (d.kind === 'done') {
        if (d.write) t.set(rRef, plain(d.release), {merge: true});
        return {kind: 'done', release: d.release};
      }
      if (d.kind === 'busy') return {kind: 'busy', release, holder: d.holder};
      t.set(sRef, {service, lock: d.lock}, {merge: true});
      return {kind: 'go', release, value: undefined};
    });
  }

  async finishRolloutStep(next: Release, holder: string, now: Date, keepLock = false): Promise<Release> {
    return this.run('rollout step result', next.service, async (t) => {
      const rRef = this.releaseRef(next.service, next.release);
      const sRef = this.serviceRef(next.service);
      const [rSnap, sSnap] = await getBoth(t, rRef, sRef);
      const d = decideFinishStep(next, serviceState(sSnap.data()), holder, now, keepLock);
      if (!d.release) return toRelease(rSnap.data()!);
      if (d.deployed) t.set(sRef, plain({deployed: d.deployed}), {merge: true});
      if (d.unlock) t.set(sRef, {lock: null}, {merge: true});
      // update(), not a merge: `rollout` is replaced whole, so a carried-out `pending` or an
      // ended `paused` is gone from the stored map too.
      t.update(rRef, plain(d.release) as never);
      return d.release;
    });
  }

  async listRollouts(limit: number, after?: string): Promise<Release[]> {
    const q = this.db
      .collectionGroup('releases')
      .where('root', '==', this.root)
      .where('state', 'in', [...ROLLOUT_STATES]);
    return this.pageOfReleases(q, limit, after, 'rollouts');
  }

  /** One page of this installation's releases from query `q`, by updateTime after `after`. */
  private async pageOfReleases(q: Query, limit: number, after: string | undefined, what: string): Promise<Release[]> {
    const services = `${this.root}_services`;
    const snap = await (after !== undefined ? q.where('updateTime', '>', after) : q)
      .orderBy('updateTime')
      .limit(limit)
      .get()
      .catch((err) => {
        throw classify(err, `Firestore query of ${what}`);
      });
    // The path check keeps out any other `releases` collection.
    return snap.docs.filter((d) => d.ref.parent.parent?.parent.id === services).map((d) => toRelease(d.data() as ReleaseDoc));
  }

  /** The preview half of {@link leaseDeploy}, inside its transaction. */
  private leasePreviewDeploy(
    t: Transaction,
    release: Release,
    doc: ServiceDoc | undefined,
    image: string,
    holder: string,
    now: Date,
    leaseMs: number,
  ): LeaseOutcome<{image: string}> {
    const name = release.preview!.name;
    const d = decidePreviewLease(release, doc?.lock, doc?.previews?.[name], image, holder, now, leaseMs);
    const rRef = this.releaseRef(release.service, release.release);
    if (d.kind === 'busy') return {kind: 'busy', release, holder: d.holder};
    t.set(rRef, plain(d.release), {merge: true});
    if (d.kind === 'done') return {kind: 'done', release: d.release};
    t.update(this.serviceRef(release.service), 'lock', d.lock, new FieldPath('previews', name), plain(d.preview));
    return {kind: 'go', release: d.release, value: {image: d.release.image ?? image}};
  }

  async leasePreviewRemoval(
    service: string,
    name: string,
    holder: string,
    now: Date,
    leaseMs: number,
    generation?: string,
  ): Promise<PreviewRemovalLease> {
    return this.run('preview removal lock', service, async (t) => {
      const sRef = this.serviceRef(service);
      const doc = (await t.get(sRef)).data();
      if (!doc?.lastRelease) throw new PermanentError(`dropdeploy manages no service "${service}"`, 'NOT_FOUND');
      const d = decidePreviewRemoval(doc.previews?.[name], doc.lock, holder, now, leaseMs, generation);
      if (d.kind !== 'go') return d;
      t.update(sRef, {lock: d.lock});
      return {kind: 'go', through: d.through};
    });
  }

  async finishPreviewRemoval(service: string, name: string, through: number, holder: string, actor: string, now: Date): Promise<void> {
    await this.run('preview removal', service, async (t) => {
      const sRef = this.serviceRef(service);
      const doc = (await t.get(sRef)).data();
      const p = doc?.previews?.[name];
      const fields: unknown[] = [];
      if (p) fields.push(new FieldPath('previews', name), plain(removedPreview(p, through, actor, now)));
      if (doc?.lock?.holder === holder) fields.push('lock', null);
      if (fields.length) t.update(sRef, ...(fields as [string, unknown]));
    });
  }

  async listPreviews(service: string): Promise<PreviewView[] | undefined> {
    const snap = await this.serviceRef(service)
      .get()
      .catch((err) => {
        throw classify(err, 'Firestore read of a service');
      });
    return snap.data()?.lastRelease ? listedPreviews(snap.data()!.previews) : undefined;
  }

  async renewDeployLock(service: string, n: number, holder: string, now: Date, leaseMs: number): Promise<boolean> {
    return this.run('deploy lock renewal', service, async (t) => {
      const sRef = this.serviceRef(service);
      const lock = (await t.get(sRef)).data()?.lock;
      const renewed = lock?.release === n ? renewedLease(lock, holder, now, leaseMs) : undefined;
      if (!renewed) return false;
      t.set(sRef, {lock: {...lock, until: renewed.until}}, {merge: true});
      return true;
    });
  }

  async releaseLease(service: string, n: number, holder: string): Promise<void> {
    await this.run('lease release', service, async (t) => {
      const rRef = this.releaseRef(service, n);
      const sRef = this.serviceRef(service);
      const [rSnap, sSnap] = await getBoth(t, rRef, sRef);
      if (rSnap.data()?.buildLease?.holder === holder) {
        t.update(rRef, {buildLease: null});
        t.delete(this.leaseTokenRef(service, n, holder));
      }
      if (sSnap.data()?.lock?.holder === holder) t.set(sRef, {lock: null}, {merge: true});
    });
  }

  async markPublished(service: string, n: number, states: string[]): Promise<void> {
    if (!states.length) return;
    await this.releaseRef(service, n)
      .update({published: FieldValue.arrayUnion(...states)})
      .catch((err) => {
        throw classify(err, 'Firestore update of published states');
      });
  }

  private requestRef(service: string, key: string): DocumentReference<RequestDoc> {
    const id = createHash('sha256').update(`${service}\n${key}`).digest('hex');
    return this.db.collection(`${this.root}_requests`).doc(id) as DocumentReference<RequestDoc>;
  }

  async createRelease(
    service: string,
    init: ManualRelease,
    now: Date,
    idempotency?: {key: string; requestHash: string},
  ): Promise<{release: Release; created: boolean; conflict?: boolean}> {
    return this.run('release creation', service, async (t) => {
      const sRef = this.serviceRef(service);
      const reqRef = idempotency && this.requestRef(service, idempotency.key);
      const [svc, req] = reqRef ? await getBoth(t, sRef, reqRef) : [await t.get(sRef), undefined];
      // A service document with no release holds a policy set ahead of the first upload.
      if (!svc.data()?.lastRelease) throw new PermanentError(`dropdeploy manages no service "${service}"`, 'NOT_FOUND');
      const earlier = req?.data();
      if (earlier) {
        const existing = await t.get(this.releaseRef(service, earlier.release));
        return {release: toRelease(existing.data()!), created: false, conflict: earlier.requestHash !== idempotency!.requestHash};
      }
      const n = (svc.data()?.lastRelease ?? 0) + 1;
      const made = init.trigger === 'config' ? {...init, image: await this.configImage(t, service, svc.data()?.deployed)} : init;
      const release = newRelease({service, release: n, ...made}, now);
      t.create(this.releaseRef(service, n), plain<ReleaseDoc>({...release, root: this.root}));
      t.set(sRef, {lastRelease: n}, {merge: true});
      if (reqRef)
        t.create(reqRef, {service, key: idempotency.key, requestHash: idempotency.requestHash, release: n, createTime: now.toISOString()});
      return {release, created: true};
    });
  }

  /** The image a config release deploys, read in `t` with the releases above the deployed one. */
  private async configImage(t: Transaction, service: string, deployed: ServiceDoc['deployed']): Promise<string> {
    // Usually none or a few: the releases since the last deploy.
    const above = await t.get(
      this.serviceRef(service)
        .collection('releases')
        .where('release', '>', deployed?.release ?? 0),
    );
    const d = decideConfigRelease(
      service,
      deployed,
      above.docs.map((doc) => doc.data() as ReleaseDoc),
    );
    if (d.kind === 'refuse') throw new PermanentError(d.message, 'FAILED_PRECONDITION');
    return d.image;
  }

  async listReleases(service: string, pageSize: number, below?: number): Promise<{releases: Release[]; next?: number}> {
    let q = this.serviceRef(service).collection('releases').orderBy('release', 'desc');
    if (below !== undefined) q = q.where('release', '<', below);
    const snap = await q
      .limit(pageSize + 1)
      .get()
      .catch((err) => {
        throw classify(err, 'Firestore list of releases');
      });
    const releases = snap.docs.slice(0, pageSize).map((d) => toRelease(d.data() as ReleaseDoc));
    return snap.docs.length > pageSize ? {releases, next: releases[releases.length - 1].release} : {releases};
  }

  async getService(service: string): Promise<ServiceSummary | undefined> {
    const snap = await this.serviceRef(service)
      .get()
      .catch((err) => {
        throw classify(err, 'Firestore read of a service');
      });
    return snap.data()?.lastRelease ? summary(snap.data()!) : undefined;
  }

  async listServices(): Promise<ServiceSummary[]> {
    const snap = await this.db
      .collection(`${this.root}_services`)
      .orderBy('service')
      .get()
      .catch((err) => {
        throw classify(err, 'Firestore list of services');
      });
    return snap.docs.map((d) => d.data() as ServiceDoc).flatMap((doc) => (doc.lastRelease ? [summary(doc)] : []));
  }

  async getPolicy(service: string): Promise<StoredPolicy | undefined> {
    const snap = await this.serviceRef(service)
      .get()
      .catch((err) => {
        throw classify(err, 'Firestore read of a service');
      });
    return snap.exists ? storedPolicy(snap.data()!) : undefined;
  }

  async setPolicy(
    service: string,
    change: (current: RolloutPolicy | undefined) => RolloutPolicy | undefined,
    actor: string,
    now: Date,
  ): Promise<StoredPolicy & {changed: boolean}> {
    return this.run('policy update', service, async (t) => {
      const ref = this.serviceRef(service);
      const doc = (await t.get(ref)).data();
      const current = doc?.policy;
      const policy = change(current);
      if (!policy || policy === current) return {...(doc ? storedPolicy(doc) : {}), changed: false};
      const written = {policy: plain(policy), policyUpdateTime: now.toISOString(), policyUpdatedBy: actor};
      // mergeFields: the policy is replaced whole (a merge would keep fields it no longer has).
      t.set(ref, written, {mergeFields: ['policy', 'policyUpdateTime', 'policyUpdatedBy']});
      return {policy, updateTime: written.policyUpdateTime, updatedBy: actor, changed: true};
    });
  }

  async listStale(before: Date, limit: number, after?: string): Promise<Release[]> {
    // One collection-group query (index: root + state + updateTime, created by deploy/), of
    // this installation's releases only; the path check keeps out any other `releases`.
    const q = this.db
      .collectionGroup('releases')
      .where('root', '==', this.root)
      .where(
        'state',
        'in',
        // Rollouts move on every reconciler run (listRollouts), not only when stale.
        STATES.filter((s) => !TERMINAL.has(s) && !ROLLOUT_STATES.has(s)),
      )
      .where('updateTime', '<', before.toISOString());
    return this.pageOfReleases(q, limit, after, 'unfinished releases');
  }

  async claimed(sources: Array<{bucket: string; object: string; generation: string}>): Promise<boolean[]> {
    if (!sources.length) return [];
    const snaps = await this.db.getAll(...sources.map((s) => this.sourceRef(s))).catch((err) => {
      throw classify(err, 'Firestore read of source claims');
    });
    return snaps.map((snap) => snap.exists);
  }
}

interface RequestDoc {
  service: string;
  key: string;
  requestHash: string;
  release: number;
  createTime: string;
}

function storedPolicy(doc: ServiceDoc): StoredPolicy {
  if (!doc.policy) return {};
  return {policy: doc.policy, updateTime: doc.policyUpdateTime, updatedBy: doc.policyUpdatedBy};
}

function summary(doc: ServiceDoc): ServiceSummary {
  const s: ServiceSummary = {service: doc.service, lastRelease: doc.lastRelease ?? 0};
  if (doc.deployed) s.deployed = doc.deployed;
  return s;
}
