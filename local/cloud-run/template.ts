import {randomUUID} from 'node:crypto';
import {messageType, clonePlain} from '../grpc/protos';
import {rpc} from '../grpc/rpc-error';
import {entries, type CheckedTemplate, type Container, type Revision, type RevisionTemplate, type Timestamp} from './messages';

/** Rejects a template Cloud Run could not run: no containers, or a container without an image. */
export function checkTemplate(template: RevisionTemplate | undefined): asserts template is CheckedTemplate {
  const containers = template?.containers ?? [];
  if (containers.length === 0) throw rpc.invalidArgument('service.template.containers: at least one container is required.');
  containers.forEach((c, i) => {
    if (!c.image) throw rpc.invalidArgument(`service.template.containers[${i}].image: image is required.`);
  });
}

/**
 * The template with the defaults Cloud Run fills in, applied to stored and incoming templates
 * alike so that sending back what was read does not look like a change.
 */
export function withDefaults(template: CheckedTemplate): CheckedTemplate {
  const t = clonePlain(template);
  t.timeout ??= {seconds: '300'};
  t.maxInstanceRequestConcurrency ??= 80;
  t.containers = t.containers.map((c, i) => ({
    ...c,
    resources: {...c.resources, limits: c.resources?.limits ?? {cpu: '1000m', memory: '512Mi'}},
    ...(i === 0 && !c.ports?.length ? {ports: [{name: 'http1', containerPort: 8080}]} : {}),
  }));
  return t;
}

/** JSON with sorted keys, so two templates compare equal whatever order their fields came in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array)
      ? Object.fromEntries(entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** A new, still reconciling Revision made from a template: every template field the Revision also has. */
export function newRevision(template: CheckedTemplate, name: string, now: Timestamp): Revision {
  const revisionFields = messageType('google.cloud.run.v2.Revision').fields;
  const t = clonePlain(template);
  const out: Record<string, unknown> = {};
  for (const [key, value] of entries(t)) {
    if (key !== 'revision' && revisionFields[key]) out[key] = value;
  }
  return {
    ...out,
    containers: t.containers, // a Revision field, so copied above already: this only tells the type
    ...{name, uid: randomUUID(), generation: '1', observedGeneration: '1', createTime: now, updateTime: now},
    ...{reconciling: true, conditions: [{type: 'Ready', state: 'CONDITION_RECONCILING', lastTransitionTime: now}]},
  };
}

/** Literal env values of a container (values from secrets are left out). */
export function literalEnv(container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) if (e.name && e.valueSource === undefined) env[e.name] = e.value ?? '';
  return env;
}
