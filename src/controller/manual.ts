/**
 * Operator actions: redeploy (rebuild the newest source, or one exact archive), rollback
 * (a new release that deploys an earlier release's image, no build) and an environment change
 * (a `config` release: the deployed image with a new env, no build). Each is a new release
 * under the same exactly-once and newest-wins rules as uploads; an idempotency key makes a
 * repeated request return (and resume) the release of the first one.
 */
import {PermanentError} from '../errors';
import {replacedSecrets, type EnvChange} from '../releases/env';
import {describeEnvChange, envChangeRecord} from '../releases/env-record';
import {classifyObject, functionSettings, rolloutOverride} from '../releases/naming';
import type {Release, Source} from '../releases/release';
import {ingressContainer} from '../releases/service-spec';
import type {ManualRelease} from '../ports';
import type {Ctx} from './deps';
import {deployRelease} from './deploy';
import {publishPending} from './outbox';
import {startBuild} from './start-build';

/** An idempotency key and a hash of the request it came with. */
export interface Idempotency {
  key: string;
  requestHash: string;
}

/** The result of an action: the release, and whether this request made it. */
export interface ActionResult {
  release: Release;
  created: boolean;
}

/** Rebuilds and deploys `source`, or the service's newest source when none is given. */
export async function redeploy(
  ctx: Ctx,
  service: string,
  opts: {actor: string; source?: {bucket: string; object: string; generation: string}; idempotency?: Idempotency},
): Promise<ActionResult> {
  const store = await ctx.deps.store();
  if (!(await store.getService(service))) throw new PermanentError(`dropdeploy manages no service "${service}"`, 'NOT_FOUND');
  const source = opts.source ? await exactSource(ctx, service, opts.source) : await newestSource(ctx, service);
  return act(ctx, service, {trigger: 'redeploy', actor: opts.actor, source}, opts.idempotency, (r) => startBuild(ctx, r));
}

/** Deploys release `target`'s image again as a new release. */
export async function rollback(
  ctx: Ctx,
  service: string,
  target: number,
  opts: {actor: string; idempotency?: Idempotency},
): Promise<ActionResult> {
  const store = await ctx.deps.store();
  if (!(await store.getService(service))) throw new PermanentError(`dropdeploy manages no service "${service}"`, 'NOT_FOUND');
  const old = await store.get(service, target);
  if (!old) throw new PermanentError(`release ${target} of service "${service}" does not exist`, 'NOT_FOUND');
  if (!old.image || old.state !== 'deployed') {
    throw new PermanentError(
      `release v${target} of "${service}" was never deployed (it is ${old.state}), so there is no image to roll back to; ` +
        'pick a release whose state is deployed (see GET /v1/services/' +
        service +
        '/releases)',
      'FAILED_PRECONDITION',
    );
  }
  const init: ManualRelease = {trigger: 'rollback', actor: opts.actor, rollbackOf: target, image: old.image};
  if (old.source) init.source = old.source;
  return act(ctx, service, init, opts.idempotency, (r) => deployRelease(ctx, r, r.image!));
}

/**
 * Changes the environment of `service` as a `config` release: the deployed image again, with
 * `change` applied to the env of its serving container (a new revision). The release records
 * the names, and the values of names that do not look secret and were not Secret Manager
 * references; the values it leaves out reach the deploy from this request only.
 */
export async function changeEnv(
  ctx: Ctx,
  service: string,
  change: EnvChange,
  opts: {actor: string; idempotency?: Idempotency},
): Promise<ActionResult> {
  const store = await ctx.deps.store();
  if (ctx.deps.config.controllerServices.includes(service))
    throw new PermanentError(
      `"${service}" is a service of the dropdeploy controller itself, which dropdeploy never changes`,
      'PERMISSION_DENIED',
    );
  if (!(await store.getService(service))) throw new PermanentError(`dropdeploy manages no service "${service}"`, 'NOT_FOUND');
  // A Secret Manager reference the change replaces by a value held a secret: its value is one too.
  const live = await (await ctx.deps.services()).get(service);
  const containers = live?.template?.containers ?? [];
  const wereSecret = containers.length ? replacedSecrets(ingressContainer(containers).env, change) : [];
  const init: ManualRelease = {trigger: 'config', actor: opts.actor, env: envChangeRecord(change, wereSecret)};
  ctx.log.info(`environment change of ${service}: ${describeEnvChange(init.env!)}`);
  return act(ctx, service, init, opts.idempotency, (r) => deployRelease(ctx, r, r.image!, change.set));
}

/**
 * Makes (or finds) the release, then does its next step. A repeated request resumes a release
 * its first attempt left unfinished: `accepted` (the build or deploy never started) and, for a
 * rollback or a config release, `deploying` (no event will ever redeliver it). A redeploy in `building` goes on by
 * its build's own status event.
 */
async function act(
  ctx: Ctx,
  service: string,
  init: ManualRelease,
  idempotency: Idempotency | undefined,
  next: (r: Release) => Promise<Release>,
): Promise<ActionResult> {
  const store = await ctx.deps.store();
  const made = await store.createRelease(service, init, ctx.deps.now(), idempotency);
  if (made.conflict) {
    throw new PermanentError(
      `the Idempotency-Key "${idempotency!.key}" was already used for a different request (release v${made.release.release}); use a new key`,
      'ABORTED',
    );
  }
  const log = ctx.log.with({service, release: made.release.release});
  log.notice(`${made.created ? 'release' : 'repeated request for release'} v${made.release.release} (${init.trigger}) by ${init.actor}`);
  const c: Ctx = {...ctx, log};
  await publishPending(c, made.release);
  const r = made.release;
  const resume = r.state === 'accepted' || (r.state === 'deploying' && (r.trigger === 'rollback' || r.trigger === 'config'));
  const release = resume ? await next(r) : r;
  return {release, created: made.created};
}

/** The newest release that has a source (a rollback carries its target's). */
async function newestSource(ctx: Ctx, service: string): Promise<Source> {
  const store = await ctx.deps.store();
  const allowed = ctx.deps.config.buckets;
  let below: number | undefined;
  for (;;) {
    const page = await store.listReleases(service, 50, below);
    const hit = page.releases.find((r) => r.source);
    if (hit?.source) {
      // Buckets can be removed from DROPDEPLOY_BUCKETS since; nothing outside them is built.
      if (!allowed.includes(hit.source.bucket)) {
        throw new PermanentError(
          `the newest source of "${service}" is in bucket ${hit.source.bucket}, which is no longer a source bucket (${allowed.join(', ')}); upload a new archive`,
          'FAILED_PRECONDITION',
        );
      }
      return hit.source;
    }
    if (page.next === undefined)
      throw new PermanentError(
        `service "${service}" has no release with a source to rebuild; upload an archive first`,
        'FAILED_PRECONDITION',
      );
    below = page.next;
  }
}

/** An exact archive: in an allowed bucket, a source of this service, and existing at that generation. */
async function exactSource(ctx: Ctx, service: string, s: {bucket: string; object: string; generation: string}): Promise<Source> {
  const {config} = ctx.deps;
  if (!config.buckets.includes(s.bucket)) {
    throw new PermanentError(
      `source.bucket: "${s.bucket}" is not a source bucket of this installation (${config.buckets.join(', ')})`,
      'INVALID_ARGUMENT',
    );
  }
  const named = classifyObject(s.object, config.prefix, config.controllerServices);
  if (named.kind !== 'source') throw new PermanentError(`source.object: ${named.reason}`, 'INVALID_ARGUMENT');
  if (named.service !== service) {
    throw new PermanentError(
      `source.object: "${s.object}" is a source of service "${named.service}", not "${service}"`,
      'INVALID_ARGUMENT',
    );
  }
  const found = await (await ctx.deps.objects()).get(s.bucket, s.object, s.generation);
  if (!found) throw new PermanentError(`source: gs://${s.bucket}/${s.object}#${s.generation} does not exist`, 'NOT_FOUND');
  const fn = functionSettings(found.metadata);
  if (!fn.ok) throw new PermanentError(`source: ${fn.reason}`, 'INVALID_ARGUMENT');
  const rollout = rolloutOverride(found.metadata);
  if (!rollout.ok) throw new PermanentError(`source: ${rollout.reason}`, 'INVALID_ARGUMENT');
  const source: Source = {bucket: s.bucket, object: s.object, generation: found.generation};
  for (const k of ['size', 'md5Hash', 'crc32c', 'contentType'] as const) if (found[k]) source[k] = found[k];
  if (fn.functionTarget) {
    source.functionTarget = fn.functionTarget;
    source.signatureType = fn.signatureType;
  }
  if (rollout.rollout) source.rollout = rollout.rollout;
  return source;
}
