/**
 * The build cache of a service on Google Cloud: where it lives and the build steps that read
 * and write it. Pure: {@link buildSpec} puts these steps in the Cloud Build request.
 *
 * Buildpacks: `pack build --cache-image <image> --publish`, as Google documents in "Speed up
 * builds with cache images" (https://cloud.google.com/docs/buildpacks/cache-images) and the
 * buildpacks project in "Use a cache image"
 * (https://buildpacks.io/docs/for-app-developers/how-to/build-inputs/use-cache-image/): the
 * cache image holds the build layers (node_modules and the like) between builds on Cloud
 * Build's ephemeral workers; `--cache-image` works only with `--publish`.
 *
 * Dockerfile: the previous image as a registry-backed layer cache, as Cloud Build documents in
 * "Using a cached Docker image" (https://cloud.google.com/build/docs/optimize-builds/speeding-up-builds):
 * pull it (a missing one is no failure), then `docker build --cache-from`. The build arg
 * BUILDKIT_INLINE_CACHE=1 writes BuildKit's inline cache metadata into the image
 * (https://docs.docker.com/build/cache/backends/inline/), so the cache works whether the
 * worker's docker builds with BuildKit or with the classic builder.
 */
import {imageRepository} from './naming';

/** Which builder a cache image feeds: one tag each, so neither is ever handed the other's image. */
export type CacheKind = 'buildpacks' | 'dockerfile';

/**
 * The cache image of `service` for `kind`: `…/REPOSITORY/SERVICE/cache:<kind>`, in the release's
 * own repository. A path below the service's image, not a sibling such as `SERVICE-cache`: a
 * service id never contains '/', so no service's image can ever be another's cache.
 */
export function buildCacheImage(c: {region: string; projectId: string; repository: string}, service: string, kind: CacheKind): string {
  return `${imageRepository(c, service)}/cache:${kind}`;
}

/** What the cached steps need: the image to push, the two cache images, the function env names. */
export interface CachedBuild {
  image: string;
  builder: string;
  packImage: string;
  dockerCache: string;
  buildpacksCache: string;
  /** The step env ("K=V"), on every step; pack forwards the names given with a value-less `--env NAME`. */
  env: string[];
}

/** A step of the Cloud Build request. */
export interface CacheStep {
  id: string;
  name: string;
  entrypoint: string;
  args: string[];
  env: string[];
}

/**
 * The three steps of a cached build. Only the archive knows whether it has a Dockerfile, so each
 * step decides at build time and the other kind's steps do nothing. `pack` runs as its own
 * step (not from the docker step) because `--publish` pushes from inside pack, which needs the
 * registry credentials Cloud Build gives each step. The last step pulls the published image so
 * that Cloud Build's own push of `images` (which reports the digest the release deploys) works
 * as it does for an uncached build. No '$' appears, so Cloud Build's substitution leaves the
 * scripts alone; the names in them are built from validated ids (no quotes or spaces).
 */
export function cachedBuildSteps(b: CachedBuild): CacheStep[] {
  const packEnv = b.env.map((e) => ` --env ${e.slice(0, e.indexOf('='))}`).join('');
  const docker = [
    'set -eu',
    'if [ -f Dockerfile ]; then',
    `  docker pull ${b.dockerCache} || echo 'No build cache yet; this build makes it'`,
    `  docker build --network=cloudbuild --cache-from ${b.dockerCache} --build-arg BUILDKIT_INLINE_CACHE=1 -t ${b.image} -t ${b.dockerCache} .`,
    // The cache only saves time: failing to update it must not fail a build that succeeded.
    `  docker push ${b.dockerCache} || echo 'warning: the build cache was not updated; the next build may take longer'`,
    'else',
    "  echo 'No Dockerfile: the buildpacks step builds this source'",
    'fi',
  ].join('\n');
  const pack = [
    'set -eu',
    'if [ -f Dockerfile ]; then exit 0; fi',
    `pack build ${b.image} --builder ${b.builder} --network cloudbuild --path /workspace --cache-image ${b.buildpacksCache} --publish${packEnv}`,
  ].join('\n');
  const pull = ['set -eu', `if [ ! -f Dockerfile ]; then docker pull ${b.image}; fi`].join('\n');
  return [
    {id: 'build', name: 'gcr.io/cloud-builders/docker', entrypoint: 'bash', args: ['-c', docker], env: b.env},
    {id: 'buildpacks', name: b.packImage, entrypoint: 'sh', args: ['-c', pack], env: b.env},
    {id: 'pull', name: 'gcr.io/cloud-builders/docker', entrypoint: 'bash', args: ['-c', pull], env: b.env},
  ];
}
