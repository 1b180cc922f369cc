/**
 * The Cloud Build request of a release. Pure: the adapter sends it as it is.
 */
import type {Release, Source} from './release';
import {releaseImageTag} from './naming';
import {buildCacheImage, cachedBuildSteps} from './build-cache';

/** The part of the Cloud Build `Build` resource that dropdeploy sets. */
export interface BuildSpec {
  source: {storageSource: {bucket: string; object: string; generation: string}};
  steps: Array<{id: string; name: string; entrypoint: string; args: string[]; env: string[]}>;
  images: string[];
  tags: string[];
  substitutions: Record<string, string>;
  timeout: {seconds: number};
  serviceAccount?: string;
  options: {logging?: 'CLOUD_LOGGING_ONLY'; machineType?: string; substitutionOption: 'ALLOW_LOOSE'};
}

/** The tag every dropdeploy build carries; with the substitutions it identifies our builds. */
export const BUILD_TAG = 'dropdeploy';
/** Builder image for sources without a Dockerfile (Google Cloud's buildpacks). */
export const BUILDPACKS_BUILDER = 'gcr.io/buildpacks/builder:latest';
/** The `pack` CLI image, as Cloud Run's deploy-from-source uses it. */
export const PACK_IMAGE = 'gcr.io/k8s-skaffold/pack';

/**
 * The tag that names a release's build, so ListBuilds finds it again: `dd-<root>-<service>-v<n>`,
 * where `root` (DROPDEPLOY_FIRESTORE_ROOT) tells two installations in one project apart.
 */
export function releaseBuildTag(root: string, service: string, release: number): string {
  return `dd-${root}-${service}-v${release}`;
}

/** What the tags and substitutions of a build say about the release of installation `root` it belongs to. */
export function releaseOfBuild(
  b: {tags?: string[] | null; substitutions?: Record<string, string> | null},
  root: string,
): {service: string; release: number} | undefined {
  if (!b.tags?.includes(BUILD_TAG) || b.substitutions?._DD_ROOT !== root) return undefined;
  const service = b.substitutions?._DD_SERVICE;
  const release = Number(b.substitutions?._DD_RELEASE);
  if (!service || !Number.isInteger(release) || release < 1) return undefined;
  return {service, release};
}

/** What a build says it did, as much as adoption compares. */
export interface BuildFacts {
  source?: {bucket: string; object: string; generation: string};
  serviceAccount?: string;
  requestedImages: string[];
}

/**
 * Why a build carrying a release's tag is not the build that release would have asked for
 * (another source, service account or image), or undefined when it is. A tag alone is
 * not proof: anyone who may create builds in the project can set it.
 */
export function adoptionProblem(build: BuildFacts, want: BuildSpec): string | undefined {
  const w = want.source.storageSource;
  const s = build.source;
  if (!s || s.bucket !== w.bucket || s.object !== w.object || s.generation !== w.generation) {
    return `it built ${s ? `gs://${s.bucket}/${s.object}#${s.generation}` : 'no Cloud Storage source'}, not gs://${w.bucket}/${w.object}#${w.generation}`;
  }
  // Without a configured account Cloud Build fills in its default one, whichever that is.
  if (want.serviceAccount && build.serviceAccount !== want.serviceAccount) {
    return `it ran as ${build.serviceAccount || 'the default build service account'}, not ${want.serviceAccount}`;
  }
  if (build.requestedImages.length !== want.images.length || build.requestedImages.some((img, i) => img !== want.images[i])) {
    return `it pushes ${build.requestedImages.join(', ') || 'no image'}, not ${want.images.join(', ')}`;
  }
  return undefined;
}

/**
 * The build of `release` from `source`: reads exactly the uploaded generation; builds with the
 * source's Dockerfile when there is one, else with Google's buildpacks (passing a function
 * target the way Cloud Run functions do); pushes `…/<service>:v<n>`. With `build.cache` it
 * reads and updates the service's cache images (build-cache.ts); without, every build starts
 * cold, in the one step it always had.
 */
export function buildSpec(
  config: {
    projectId: string;
    region: string;
    repository: string;
    firestore: {root: string};
    build: {serviceAccount?: string; machineType?: string; timeoutSeconds: number; cache?: boolean};
  },
  release: Pick<Release, 'service' | 'release'>,
  source: Source,
): BuildSpec {
  const image = releaseImageTag(config, release.service, release.release);
  // The step's env is the one place the function target lives; docker and pack forward the
  // value-less `-e NAME` / `--env NAME` from it, as Cloud Run functions' builds do.
  const env = source.functionTarget
    ? [`GOOGLE_FUNCTION_TARGET=${source.functionTarget}`, `GOOGLE_FUNCTION_SIGNATURE_TYPE=${source.signatureType ?? 'http'}`]
    : [];
  const steps = config.build.cache
    ? cachedBuildSteps({
        image,
        builder: BUILDPACKS_BUILDER,
        packImage: PACK_IMAGE,
        dockerCache: buildCacheImage(config, release.service, 'dockerfile'),
        buildpacksCache: buildCacheImage(config, release.service, 'buildpacks'),
        env,
      })
    : [uncachedStep(image, env)];
  const spec: BuildSpec = {
    source: {storageSource: {bucket: source.bucket, object: source.object, generation: source.generation}},
    steps,
    images: [image],
    tags: [BUILD_TAG, releaseBuildTag(config.firestore.root, release.service, release.release)],
    substitutions: {_DD_ROOT: config.firestore.root, _DD_SERVICE: release.service, _DD_RELEASE: String(release.release)},
    timeout: {seconds: config.build.timeoutSeconds},
    options: {substitutionOption: 'ALLOW_LOOSE'},
  };
  if (config.build.serviceAccount) {
    const sa = config.build.serviceAccount;
    spec.serviceAccount = sa.startsWith('projects/') ? sa : `projects/${config.projectId}/serviceAccounts/${sa}`;
    // A user-specified build service account must log to Cloud Logging only (or a logs bucket).
    spec.options.logging = 'CLOUD_LOGGING_ONLY';
  }
  if (config.build.machineType) spec.options.machineType = config.build.machineType;
  return spec;
}

/** The one step of an uncached build: docker, or `pack` run from it into the worker's docker. */
function uncachedStep(image: string, env: string[]): BuildSpec['steps'][number] {
  const names = env.map((e) => e.slice(0, e.indexOf('=')));
  const forward = names.map((n) => ` -e ${n}`).join('');
  const packEnv = names.map((n) => ` --env ${n}`).join('');
  // One step decides at build time, since only the archive knows whether it has a Dockerfile.
  // The image name is built from validated names (no quotes or spaces), and '$' never appears,
  // so Cloud Build's own substitution leaves the script alone.
  const script = [
    'set -eu',
    'if [ -f Dockerfile ]; then',
    `  docker build --network=cloudbuild -t ${image} .`,
    'else',
    `  docker run --rm --network=cloudbuild -v /var/run/docker.sock:/var/run/docker.sock -v /workspace:/workspace -w /workspace${forward} ${PACK_IMAGE}` +
      ` build ${image} --builder ${BUILDPACKS_BUILDER} --network cloudbuild --path /workspace${packEnv}`,
    'fi',
  ].join('\n');
  return {id: 'build', name: 'gcr.io/cloud-builders/docker', entrypoint: 'bash', args: ['-c', script], env};
}
