/**
 * The environment side of a deploy: which env it starts from (a rollback's restored one, or
 * the serving revision's when the latest revision failed), and what its record keeps of the env
 * it deployed. The decisions are pure (src/releases/deployed-env.ts); this reads what they need.
 */
import {PermanentError} from '../errors';
import {
  recordEnv,
  redactedNames,
  restoreEnv,
  servingRevisionOverFailed,
  type RecordedEnvVar,
  type RevisionStatus,
} from '../releases/deployed-env';
import {replacedSecrets, type RunEnvVar} from '../releases/env';
import type {Release} from '../releases/release';
import {ingressContainer, liveRelease, type RunService} from '../releases/service-spec';
import type {Ctx} from './deps';
import type {Services} from '../ports';
import {targetName, type DeployTarget} from '../releases/targets';

/** Where a deploy's env starts, and the names its record keeps redacted whatever they look like. */
export interface EnvBase {
  baseEnv?: RunEnvVar[];
  redact: Set<string>;
}

/**
 * The env a deploy of `r` over `existing` starts from. A rollback to a release that recorded its
 * environment restores it, taking redacted values from the revision that ran that release; when
 * that revision is gone the rollback fails (permanently) naming the variables.
 */
export async function envBase(
  ctx: Ctx,
  r: Release,
  existing: RunService | undefined,
  services: Services,
  target?: DeployTarget,
): Promise<EnvBase> {
  const {deps, log} = ctx;
  const store = await deps.store();
  const redact = new Set<string>();
  for (const e of r.env?.set ?? []) if (e.redacted) redact.add(e.name);
  const live = existing && liveRelease(existing);
  // Names the live release's record redacted stay redacted (a replaced secret reference).
  if (live !== undefined) for (const n of redactedNames((await store.get(r.service, live))?.deployedEnv)) redact.add(n);
  if (r.trigger === 'rollback' && r.rollbackOf !== undefined) {
    const back = await store.get(r.service, r.rollbackOf);
    for (const n of redactedNames(back?.deployedEnv)) redact.add(n);
    // Another target: the env that target's own revision of the release ran with (targets' envs
    // may differ; the release records the primary's). Gone or never there: the primary's record.
    const own = target && back ? revisionIn(back, target) : undefined;
    const ran = own ? await services.getRevision(r.service, own) : undefined;
    if (ran?.containers?.length) {
      log.info(`${targetName(target!)}: the rollback restores the env of ${own}, which ran v${r.rollbackOf} there`);
      return {baseEnv: ingressContainer(ran.containers).env ?? [], redact};
    }
    if (!back?.deployedEnv) {
      log.notice(
        `v${r.rollbackOf} of ${r.service} recorded no environment (made before dropdeploy recorded it): only its image is restored`,
      );
      return {redact};
    }
    return {baseEnv: await restoredEnv(r.service, back, back.deployedEnv, services, revisionIn(back, target), target), redact};
  }
  const serving = existing && servingRevisionOverFailed(existing as RevisionStatus);
  if (!serving) return {redact};
  const rev = await services.getRevision(r.service, serving);
  if (!rev?.containers?.length) {
    log.warn(
      `the latest revision of ${r.service} failed and its serving revision ${serving} cannot be read: deploying over the template's env`,
    );
    return {redact};
  }
  log.notice(`the latest revision of ${r.service} failed: the deploy starts from the env of ${serving}, which serves`);
  return {baseEnv: ingressContainer(rev.containers).env ?? [], redact};
}

/**
 * The revision that ran `r` in `target` (another target than the controller's own: the one its
 * record names there; none recorded, none); in the controller's own region, `r.revision`.
 */
function revisionIn(r: Release, target: DeployTarget | undefined): string | undefined {
  if (!target) return r.revision;
  return r.targets?.find((t) => t.region === target.region && t.project === target.project)?.revision;
}

async function restoredEnv(
  service: string,
  target: Release,
  recorded: RecordedEnvVar[],
  services: Services,
  revision: string | undefined,
  place?: DeployTarget,
): Promise<RunEnvVar[]> {
  const needs = recorded.some((e) => 'redacted' in e);
  const rev = needs && revision ? await services.getRevision(service, revision) : undefined;
  const restored = restoreEnv(recorded, rev?.containers?.length ? ingressContainer(rev.containers).env : undefined);
  if (restored.ok) return restored.env;
  const names = restored.missing.join(', ');
  const there = place ? ` in ${targetName(place)}` : '';
  const where = rev
    ? `revision ${revision} that ran v${target.release}${there} has no plain value for them`
    : revision
      ? `revision ${revision} that ran v${target.release}${there} is gone`
      : place
        ? `${targetName(place)} never ran v${target.release} (it became a target later)`
        : `no revision that ran v${target.release} is recorded`;
  throw new PermanentError(
    `cannot restore the environment of v${target.release} of "${service}": the values of ${names} were never stored (they look secret) and ${where}; ` +
      `roll back to a later release whose revision still exists, or redeploy that release's source (\`dropdeploy redeploy ${service}\`) and set them with \`dropdeploy env ${service} set NAME=VALUE\``,
    'ENV_VALUES_NOT_STORED',
  );
}

/** The record of the env a deploy wrote into `spec` (its serving container's), with `base`'s redactions and replaced secret references. */
export function deployedEnvRecord(spec: RunService, r: Release, before: RunEnvVar[] | undefined, redact: Set<string>): RecordedEnvVar[] {
  const containers = spec.template?.containers ?? [];
  const env = containers.length ? ingressContainer(containers).env : undefined;
  const names = new Set(redact);
  if (r.env) for (const n of replacedSecrets(before, {set: Object.fromEntries(r.env.set.map((e) => [e.name, '']))})) names.add(n);
  return recordEnv(env, names);
}
