/**
 * Reading a service's environment: the env of its serving container, as Cloud Run has it now.
 * Changing it is a release (see `changeEnv` in manual.ts).
 */
import {PermanentError} from '../errors';
import {envView, type EnvEntry} from '../releases/env';
import {ingressContainer, installationId, liveRelease, notManagedReason} from '../releases/service-spec';
import type {Ctx} from './deps';

/** A service's environment as the API answers it. */
export interface ServiceEnv {
  service: string;
  /** The release the live service runs (its label), whose environment this is. */
  release?: number;
  /** The serving container's name, when it has one (services with several containers). */
  container?: string;
  env: EnvEntry[];
}

/** The environment of `service`, a service this installation manages; secret references are listed, never resolved. */
export async function serviceEnv(ctx: Ctx, service: string): Promise<ServiceEnv> {
  const {deps} = ctx;
  if (deps.config.controllerServices.includes(service))
    throw new PermanentError(
      `"${service}" is a service of the dropdeploy controller itself, which dropdeploy never changes`,
      'PERMISSION_DENIED',
    );
  const known = await (await deps.store()).getService(service);
  if (!known) throw new PermanentError(`dropdeploy manages no service "${service}"`, 'NOT_FOUND');
  const live = await (await deps.services()).get(service);
  if (!live)
    throw new PermanentError(
      `Cloud Run has no service "${service}" yet: nothing of it is deployed (see \`dropdeploy releases ${service}\`)`,
      'FAILED_PRECONDITION',
    );
  const reason = notManagedReason(live, service, installationId(deps.config.firestore), known.deployed?.release);
  if (reason) throw new PermanentError(reason, 'FAILED_PRECONDITION');
  const containers = live.template?.containers ?? [];
  const container = containers.length ? ingressContainer(containers) : undefined;
  const release = liveRelease(live);
  return {
    service,
    ...(release !== undefined ? {release} : {}),
    ...(container?.name ? {container: container.name} : {}),
    env: envView(container?.env),
  };
}
