/**
 * An uploaded generation: check the bucket and name, make its release exactly once, and start
 * its build (or finish whatever an earlier delivery left undone).
 */
import {durations} from '../config';
import type {UploadInput} from '../events/input';
import {classifyObject, functionSettings, rolloutOverride} from '../releases/naming';
import type {Source} from '../releases/release';
import {rejectedObjectMessage} from '../releases/status-event';
import type {Ctx, Outcome} from './deps';
import {publishPending} from './outbox';
import {startBuild} from './start-build';

const VIA: Record<UploadInput['via'], string> = {
  storage: 'Eventarc',
  pubsub: 'Pub/Sub notification',
  reconciler: 'reconciler: no event arrived',
};

/** Handles one `finalized` upload, by Eventarc or by a Pub/Sub notification. */
export async function handleUpload(ctx: Ctx, input: UploadInput): Promise<Outcome> {
  const {deps} = ctx;
  const s = input.source;
  const log = ctx.log.with({bucket: s.bucket, object: s.object, generation: s.generation});
  if (!deps.config.buckets.includes(s.bucket)) {
    log.warn(`upload ignored: bucket ${s.bucket} is not a source bucket (DROPDEPLOY_BUCKETS=${deps.config.buckets.join(',')})`);
    return {action: 'ignored', detail: 'bucket not allowed'};
  }
  const named = classifyObject(s.object, deps.config.prefix, deps.config.controllerServices);
  if (named.kind === 'ignored') {
    log.info(`upload ignored: ${named.reason}`);
    return {action: 'ignored', detail: named.reason};
  }
  if (named.kind === 'rejected') return reject({...ctx, log}, s, {code: 'INVALID_SERVICE_NAME', message: named.reason});
  const fn = functionSettings(input.metadata);
  if (!fn.ok) return reject({...ctx, log}, s, {code: 'INVALID_METADATA', message: fn.reason});
  const rollout = rolloutOverride(input.metadata);
  if (!rollout.ok) return reject({...ctx, log}, s, {code: 'INVALID_METADATA', message: rollout.reason});
  const source: Source = {...s};
  if (rollout.rollout) source.rollout = rollout.rollout;
  if (fn.functionTarget) {
    source.functionTarget = fn.functionTarget;
    source.signatureType = fn.signatureType;
  }
  const store = await deps.store();
  const holder = deps.newId();
  const {release, created} = await store.claimSource(
    named.service,
    source,
    {
      trigger: 'upload',
      actor: `gs://${s.bucket}/${s.object}#${s.generation} (${VIA[input.via]})`,
      ...(named.preview ? {preview: {name: named.preview}} : {}),
    },
    deps.now(),
    {holder, leaseMs: durations(deps.config).leaseMs},
  );
  const c: Ctx = {...ctx, log: log.with({service: release.service, release: release.release})};
  c.log.info(created ? `release v${release.release} accepted` : `duplicate delivery of v${release.release} (${release.state})`);
  // A new release goes straight to its build (its creator holds the build lease); its
  // `accepted` event is published with `building` once the build is created.
  if (created) {
    const after = await startBuild(c, release, holder);
    return {action: 'accepted', detail: after.state, service: after.service, release: after.release};
  }
  await publishPending(c, release);
  const after = release.state === 'accepted' ? await startBuild(c, release) : release;
  return {action: 'duplicate', detail: after.state, service: after.service, release: after.release};
}

/** No release, no build: the rejection is announced under the object's name. */
async function reject({deps, log}: Ctx, s: Source, error: {code: string; message: string}): Promise<Outcome> {
  log.error(`upload rejected: ${error.message}`, {code: error.code});
  await (await deps.publisher()).publish(rejectedObjectMessage(s, error, {...deps.config, now: deps.now()}));
  return {action: 'rejected', detail: error.message};
}
