import {randomUUID} from 'node:crypto';
import {messageType, clonePlain, type Plain} from '../grpc/protos';
import {rpc} from '../grpc/rpc-error';

/** Rejects a template Cloud Run could not run: no containers, or a container without an image. */
export function checkTemplate(template: Plain | undefined): void {
  const containers: Plain[] = template?.containers ?? [];
  if (containers.length === 0) throw rpc.invalidArgument('service.template.containers: at least one container is required.');
  containers.forEach((c, i) => {
    if (!c.image) throw rpc.invalidArgument(`service.template.containers[${i}].image: image is required.`);
  });
}

/**
 * The template with the defaults Cloud Run fills in, applied to stored and incoming templates
 * alike so that sending back what was read does not look like a change.
 */
export function withDefaults(template: Plain): Plain {
  const t = clonePlain(template);
  t.timeout ??= {seconds: '300'};
  t.maxInstanceRequestConcurrency ??= 80;
  t.containers = (t.containers as Plain[]).map((c, i) => ({
    ...c,
    resources: {...c.resources, limits: c.resources?.limits ?? {cpu: '1000m', memory: '512Mi'}},
    ...(i === 0 && !c.ports?.length ? {ports: [{name: 'http1', containerPort: 8080}]} : {}),
  }));
  return t;
}

/** JSON with sorted keys, so two templates compare equal whatever order their fields came in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
      : v,
  );
}

/** A new, still reconciling Revision made from a template: every template field the Revision also has. */
export function newRevision(template: Plain, name: string, now: Plain): Plain {
  const revisionFields = messageType('google.cloud.run.v2.Revision').fields;
  const out: Plain = {};
  for (const [key, value] of Object.entries(clonePlain(template))) {
    if (key !== 'revision' && revisionFields[key]) out[key] = value;
  }
  return {
    ...out,
    ...{name, uid: randomUUID(), generation: '1', observedGeneration: '1', createTime: now, updateTime: now},
    ...{reconciling: true, conditions: [{type: 'Ready', state: 'CONDITION_RECONCILING', lastTransitionTime: now}]},
  };
}

/** Literal env values of a container (values from secrets are left out). */
export function literalEnv(container: Plain): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of (container.env ?? []) as Plain[]) if (e.name && e.valueSource === undefined) env[e.name] = e.value ?? '';
  return env;
}
