/**
 * Cloud Build adapter: the {@link Builds} port on `@google-cloud/cloudbuild`.
 */
import type {CloudBuildClient} from '@google-cloud/cloudbuild';
import {PermanentError} from '../errors';
import {wrapAsync} from './grpc-errors';
import type {BuildInfo, Builds} from '../ports';
import type {BuildSpec} from '../releases/build-request';
import {BUILD_STATUS_BY_NUMBER} from '../releases/build-statuses';
import {enumName, toPlain} from './plain';

interface PlainBuild {
  id?: string;
  status?: unknown;
  logUrl?: string;
  tags?: string[];
  substitutions?: Record<string, string>;
  statusDetail?: string;
  failureInfo?: {detail?: string; type?: unknown};
  results?: {images?: Array<{name?: string; digest?: string}>};
  source?: {storageSource?: {bucket?: string; object?: string; generation?: string}};
  serviceAccount?: string;
  images?: string[];
}

/** {@link Builds} on the Cloud Build v1 API. */
export class CloudBuildAdapter implements Builds {
  constructor(
    private readonly client: CloudBuildClient,
    private readonly projectId: string,
  ) {}

  async create(spec: BuildSpec): Promise<{buildId: string; logUrl?: string}> {
    const [operation] = await wrapAsync('Cloud Build CreateBuild', () =>
      this.client.createBuild({projectId: this.projectId, build: spec as never}),
    );
    const build = toPlain<{build?: PlainBuild}>(operation.metadata).build;
    if (!build?.id) throw new PermanentError('Cloud Build accepted the build but returned no build id', 'INTERNAL');
    return {buildId: build.id, logUrl: build.logUrl};
  }

  async get(buildId: string): Promise<BuildInfo> {
    const [raw] = await wrapAsync(`Cloud Build GetBuild ${buildId}`, () => this.client.getBuild({projectId: this.projectId, id: buildId}));
    return toInfo(toPlain<PlainBuild>(raw), buildId);
  }

  async findByTag(tag: string): Promise<BuildInfo[]> {
    const [builds] = await wrapAsync('Cloud Build ListBuilds', () =>
      this.client.listBuilds({projectId: this.projectId, filter: `tags="${tag}"`, pageSize: 5}, {autoPaginate: false}),
    );
    return builds
      .map((b) => toPlain<PlainBuild>(b))
      .filter((b) => b.id)
      .map((b) => toInfo(b, b.id!));
  }
}

function toInfo(b: PlainBuild, id: string): BuildInfo {
  const info: BuildInfo = {
    id: b.id ?? id,
    status: enumName(b.status, BUILD_STATUS_BY_NUMBER) ?? 'STATUS_UNKNOWN',
    logUrl: b.logUrl,
    tags: b.tags ?? [],
    substitutions: b.substitutions ?? {},
    images: (b.results?.images ?? []).filter((i) => i.name && i.digest).map((i) => ({name: i.name!, digest: i.digest!})),
    requestedImages: b.images ?? [],
  };
  const s = b.source?.storageSource;
  if (s?.bucket && s.object) info.source = {bucket: s.bucket, object: s.object, generation: String(s.generation ?? '')};
  if (b.serviceAccount) info.serviceAccount = b.serviceAccount;
  const detail = b.failureInfo?.detail || b.statusDetail;
  if (detail) info.failureDetail = detail;
  return info;
}
