import {createHash} from 'node:crypto';
import {parsePolicyText, SERVICE_ONLY_FIELDS, STRATEGIES, type PartialPolicy} from './rollout-policy';
import {isRolloutTag} from './rollout';

/**
 * Pure naming rules: which objects are sources, which service they name, and the names
 * dropdeploy gives to images and builds.
 */

/** File name endings that mark a source archive (compared case-insensitively). */
export const ARCHIVE_EXTENSIONS = ['.tar.gz', '.tgz', '.zip'] as const;

/** Cloud Run service ids: lowercase letters, digits, hyphens; a letter first; no trailing hyphen; ≤ 49. */
const SERVICE_RE = /^[a-z](?:[a-z0-9-]{0,47}[a-z0-9])?$/;

/** What an object name means to dropdeploy; `preview`: the archive is the preview of that name (`<service>/previews/<name>.tgz`). */
export type ObjectClass =
  {kind: 'source'; service: string; preview?: string} | {kind: 'ignored'; reason: string} | {kind: 'rejected'; reason: string};

/** The folder of a service's previews: `<service>/previews/<name>.tgz`. */
export const PREVIEWS_FOLDER = 'previews';
/** Cloud Run refuses a traffic tag and service name longer than this together (they form the tag URL's DNS label). */
export const TAG_AND_SERVICE_MAX = 46;

/**
 * Why `name` may not be the preview (Cloud Run traffic tag) of `service`, or undefined: lowercase
 * letters, digits and hyphens, a letter first, no trailing hyphen, at most 46 characters with
 * the service name; `v<digits>` is the tag of a progressive rollout and never a preview's.
 */
export function previewNameProblem(name: string, service: string): string | undefined {
  if (name.length === 0) return 'the preview name is empty';
  if (/[A-Z]/.test(name)) return `the preview name "${name}" has uppercase letters; Cloud Run traffic tags are lowercase`;
  if (!/^[a-z]/.test(name)) return `the preview name "${name}" must start with a letter`;
  if (name.endsWith('-')) return `the preview name "${name}" must not end with a hyphen`;
  if (!/^[a-z][a-z0-9-]*$/.test(name)) return `the preview name "${name}" may only contain lowercase letters, digits and hyphens`;
  if (isRolloutTag(name))
    return `the preview name "${name}" is reserved: tags rollout-v<digits> name the revisions of progressive rollouts; choose another name`;
  if (name.length + service.length > TAG_AND_SERVICE_MAX)
    return (
      `the preview name "${name}" and the service name "${service}" are ${name.length + service.length} characters together; ` +
      `Cloud Run allows at most ${TAG_AND_SERVICE_MAX} for a traffic tag and its service`
    );
  return undefined;
}

/** Why `name` is not a valid Cloud Run service id, or undefined when it is valid. */
export function serviceNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'the service name is empty';
  if (name.length > 49) return `the service name "${name}" is ${name.length} characters long; Cloud Run allows at most 49`;
  if (/[A-Z]/.test(name)) return `the service name "${name}" has uppercase letters; use lowercase (Cloud Run service ids are lowercase)`;
  if (!/^[a-z]/.test(name)) return `the service name "${name}" must start with a letter`;
  if (name.endsWith('-')) return `the service name "${name}" must not end with a hyphen`;
  if (!SERVICE_RE.test(name)) return `the service name "${name}" may only contain lowercase letters, digits and hyphens`;
  return undefined;
}

/** True when `name` is a valid Cloud Run service id. */
export function isValidServiceName(name: string): boolean {
  return serviceNameProblem(name) === undefined;
}

/** The archive extension of `name` (lowercased), or undefined. */
export function archiveExtension(name: string): string | undefined {
  const lower = name.toLowerCase();
  return ARCHIVE_EXTENSIONS.find((ext) => lower.endsWith(ext));
}

/**
 * Classifies an object name: `<prefix><service>/<anything>.tar.gz` and `<prefix><service>.zip`
 * are sources of `service`; other objects are ignored; a source whose service segment is not a
 * valid Cloud Run id is rejected with the reason (never "fixed up").
 */
export function classifyObject(objectName: string, prefix = '', controllerServices: readonly string[] = []): ObjectClass {
  if (prefix && !objectName.startsWith(prefix)) {
    return {kind: 'ignored', reason: `object is outside the configured prefix "${prefix}"`};
  }
  const rest = objectName.slice(prefix.length);
  const ext = archiveExtension(rest);
  if (!ext) return {kind: 'ignored', reason: `not a source archive (only ${ARCHIVE_EXTENSIONS.join(', ')} are built)`};
  const slash = rest.indexOf('/');
  const service = slash >= 0 ? rest.slice(0, slash) : rest.slice(0, rest.length - ext.length);
  if (slash >= 0 && rest.length - 1 - slash <= ext.length) {
    return {kind: 'rejected', reason: `the archive "${objectName}" has no file name before its extension`};
  }
  const problem = serviceNameProblem(service);
  if (problem) {
    return {kind: 'rejected', reason: `${problem}; rename the object to <service>/<file>${ext} with a valid service name`};
  }
  const inPreviews = slash >= 0 && rest.slice(slash + 1, slash + 2 + PREVIEWS_FOLDER.length) === `${PREVIEWS_FOLDER}/`;
  if (inPreviews && !controllerServices.includes(service)) {
    const file = rest.slice(slash + 2 + PREVIEWS_FOLDER.length);
    if (file.includes('/'))
      return {
        kind: 'rejected',
        reason: `the preview archive "${objectName}" is in a subfolder of ${service}/${PREVIEWS_FOLDER}/; put it at ${service}/${PREVIEWS_FOLDER}/<name>${ext}`,
      };
    const name = file.slice(0, file.length - ext.length);
    const bad = name.length ? previewNameProblem(name, service) : `the archive "${objectName}" has no file name before its extension`;
    if (bad)
      return {
        kind: 'rejected',
        reason: `${bad}; rename the object to ${service}/${PREVIEWS_FOLDER}/<name>${ext} with a valid preview name`,
      };
    return {kind: 'source', service, preview: name};
  }
  if (controllerServices.includes(service)) {
    return {
      kind: 'rejected',
      reason: `"${service}" is one of dropdeploy's own functions (DROPDEPLOY_CONTROLLER_SERVICES), which an upload may never replace; upload under another service name`,
    };
  }
  return {kind: 'source', service};
}

/** The Artifact Registry image (without tag or digest) of a service. */
export function imageRepository(c: {region: string; projectId: string; repository: string}, service: string): string {
  return `${c.region}-docker.pkg.dev/${c.projectId}/${c.repository}/${service}`;
}

/** The image reference a release's build pushes: tagged with the release number. */
export function releaseImageTag(c: {region: string; projectId: string; repository: string}, service: string, release: number): string {
  return `${imageRepository(c, service)}:v${release}`;
}

/**
 * Why `image` may not be deployed as `service`, or undefined: it must be that service's image
 * in the configured Artifact Registry repository, by digest.
 */
export function imageProblem(
  c: {region: string; projectId: string; repository: string},
  service: string,
  image: string,
): string | undefined {
  const repo = imageRepository(c, service);
  if (image.startsWith(`${repo}@`) && /^sha256:[0-9a-f]{64}$/.test(image.slice(repo.length + 1))) return undefined;
  return `image ${image} is not ${repo}@sha256:<digest>: dropdeploy deploys only its own builds of the service from the configured repository`;
}

/** The immutable image reference deployed: `repo/service@sha256:…`. */
export function imageByDigest(taggedImage: string, digest: string): string {
  const at = taggedImage.lastIndexOf('@');
  const base = at >= 0 ? taggedImage.slice(0, at) : taggedImage.replace(/:[^/:]+$/, '');
  return `${base}@${digest}`;
}

/** The Firestore document id of a source: bucket, object and generation. */
export function sourceKey(bucket: string, object: string, generation: string): string {
  // Readable when it can be: object names may contain '/', which ids cannot, so the key is
  // percent-encoded ('%2F' always appears in it). Names that cannot be encoded (lone UTF-16
  // surrogates) or would pass Firestore's 1,500-byte id limit are hashed instead; a hashed key
  // has no '%', so the two forms never collide.
  try {
    const readable = encodeURIComponent(`${bucket}/${object}#${generation}`).replace(/\./g, '%2E');
    if (Buffer.byteLength(readable) <= 1500) return readable;
  } catch {
    // not encodable: hash below
  }
  return `h-${createHash('sha256')
    .update(JSON.stringify([bucket, object, generation]))
    .digest('hex')}`;
}

/** Object metadata keys that make a source a function (set at upload, e.g. `--custom-metadata`). */
export const METADATA_FUNCTION_TARGET = 'function-target';
/** The signature type key: http (default), event or cloudevent. */
export const METADATA_SIGNATURE_TYPE = 'function-signature-type';
const SIGNATURE_TYPES = ['http', 'event', 'cloudevent'] as const;

/** The function target and signature type named by object metadata, or the problem with them. */
export function functionSettings(
  metadata: Record<string, string>,
): {ok: true; functionTarget?: string; signatureType?: (typeof SIGNATURE_TYPES)[number]} | {ok: false; reason: string} {
  const target = metadata[METADATA_FUNCTION_TARGET]?.trim();
  const signature = metadata[METADATA_SIGNATURE_TYPE]?.trim().toLowerCase();
  if (!target) {
    return signature
      ? {
          ok: false,
          reason: `metadata ${METADATA_SIGNATURE_TYPE} is set but ${METADATA_FUNCTION_TARGET} is not; set both, or neither for an app`,
        }
      : {ok: true};
  }
  if (!/^[A-Za-z_$][\w$.]{0,127}$/.test(target)) {
    return {ok: false, reason: `metadata ${METADATA_FUNCTION_TARGET}="${target}" is not a JavaScript function name`};
  }
  if (signature !== undefined && !(SIGNATURE_TYPES as readonly string[]).includes(signature)) {
    return {ok: false, reason: `metadata ${METADATA_SIGNATURE_TYPE}="${signature}" is not one of ${SIGNATURE_TYPES.join(', ')}`};
  }
  return {ok: true, functionTarget: target, signatureType: (signature as (typeof SIGNATURE_TYPES)[number] | undefined) ?? 'http'};
}

/** The object metadata key of an upload's own rollout policy: a strategy name, or a JSON policy, possibly partial. */
export const METADATA_ROLLOUT = 'dropdeploy-rollout';

/** The rollout override named by object metadata (none when the key is absent), or the problem with it. */
export function rolloutOverride(metadata: Record<string, string>): {ok: true; rollout?: PartialPolicy} | {ok: false; reason: string} {
  const text = metadata[METADATA_ROLLOUT];
  if (text === undefined) return {ok: true};
  const parsed = parsePolicyText(text);
  if (parsed.ok) {
    const field = SERVICE_ONLY_FIELDS.find((f) => parsed.policy[f] !== undefined);
    if (field)
      return {
        ok: false,
        reason:
          `metadata ${METADATA_ROLLOUT} may not set ${field}: where a service deploys (targets, targetOrder, onTargetFailure) ` +
          `is part of its own policy; set it with \`dropdeploy policy <service> --targets …\` or PATCH /v1/services/<service>/policy, ` +
          `and leave ${field} out of the metadata`,
      };
    return Object.keys(parsed.policy).length ? {ok: true, rollout: parsed.policy} : {ok: true};
  }
  const what = parsed.problems.map((p) => (p.field === 'policy' ? p.problem : `field ${p.field} ${p.problem}`)).join('; ');
  return {
    ok: false,
    reason: `metadata ${METADATA_ROLLOUT} ${what}; set it to a strategy (${STRATEGIES.join(', ')}) or a JSON policy such as {"strategy":"canary","steps":[10,100]}, or leave it out to use the service's policy`,
  };
}
