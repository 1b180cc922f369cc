/**
 * A service's rollout policy through the API: read it (the effective one, and what is stored),
 * and change it with a Google-style PATCH. Stored by the release store; a policy may be set
 * before the service's first upload.
 */
import {PermanentError} from '../errors';
import {effectivePolicy, patchPolicy, type PolicyField} from '../releases/policy-patch';
import {describeProblems, type PartialPolicy, type RolloutPolicy} from '../releases/rollout-policy';
import type {StoredPolicy} from '../ports';
import type {Release} from '../releases/release';
import {resolveTargets} from '../releases/targets';
import type {Ctx} from './deps';
import {homeTarget} from './targets';

/** A service's policy as the API answers it. */
export interface PolicyView {
  service: string;
  /** The policy its next upload rolls out with (before any upload's own override). */
  policy: RolloutPolicy;
  /** The service's own policy, or null when it follows the configured default. */
  stored: RolloutPolicy | null;
  source: 'service' | 'default';
  updateTime: string | null;
  updatedBy: string | null;
}

function view(ctx: Ctx, service: string, stored: StoredPolicy | undefined): PolicyView {
  return {
    service,
    policy: effectivePolicy(ctx.deps.config.rolloutPolicy, stored?.policy),
    stored: stored?.policy ?? null,
    source: stored?.policy ? 'service' : 'default',
    updateTime: stored?.updateTime ?? null,
    updatedBy: stored?.updatedBy ?? null,
  };
}

/** The policy of `service`: its stored one over the configured default, or the default alone. */
export async function servicePolicy(ctx: Ctx, service: string): Promise<PolicyView> {
  return view(ctx, service, await (await ctx.deps.store()).getPolicy(service));
}

/**
 * Applies a PATCH body (a partial policy; with `mask`, exactly the masked fields) to the stored
 * policy, or to the configured default when none is stored yet. The same values again write
 * nothing. A bad body is INVALID_ARGUMENT naming every field.
 */
export async function changePolicy(
  ctx: Ctx,
  service: string,
  body: unknown,
  mask: PolicyField[] | undefined,
  actor: string,
): Promise<PolicyView> {
  const {config} = ctx.deps;
  if (config.controllerServices.includes(service))
    throw new PermanentError(
      `"${service}" is a service of the dropdeploy controller itself, which dropdeploy never deploys: it has no rollout policy`,
      'PERMISSION_DENIED',
    );
  const dflt = config.rolloutPolicy;
  const saved = await (
    await ctx.deps.store()
  ).setPolicy(
    service,
    (current) => {
      const base = current ? effectivePolicy(dflt, current) : dflt;
      const out = patchPolicy(base, body, mask, dflt);
      if (!out.ok) throw new PermanentError(describeProblems(out.problems), 'INVALID_ARGUMENT');
      const targets = resolveTargets(out.policy, homeTarget(config));
      if (!targets.ok) throw new PermanentError(targets.message, 'INVALID_ARGUMENT');
      // Nothing changed: nothing is written, and a service with no policy keeps following the default.
      return out.changed ? out.policy : undefined;
    },
    actor,
    ctx.deps.now(),
  );
  if (saved.changed) ctx.log.info(`rollout policy of ${service} changed`, {service, policy: saved.policy});
  return view(ctx, service, saved);
}

/** What a release's policy is made of: the configured default, the service's stored one, the upload's override. */
export interface PolicyLayers {
  configured: RolloutPolicy;
  stored?: PartialPolicy;
  override?: PartialPolicy;
}

/** The layers of the policy release `r` deploys with; `read`: the service's stored policy when already read. */
export async function policyLayers(ctx: Ctx, r: Release, read?: Promise<StoredPolicy | undefined>): Promise<PolicyLayers> {
  const stored = await (read ?? (await ctx.deps.store()).getPolicy(r.service));
  return {configured: ctx.deps.config.rolloutPolicy, stored: stored?.policy, override: r.source?.rollout};
}
