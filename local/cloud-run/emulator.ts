import {randomBytes, randomUUID} from 'node:crypto';
import {GrpcEmulator, type HttpRuleOption, type ServedService} from '../grpc/emulator-server';
import {OperationStore, type Operation} from '../grpc/operations';
import {clonePlain} from '../grpc/protos';
import {rpc} from '../grpc/rpc-error';
import {timestamp} from '../grpc/time';
import {
  parseCreateServiceRequest,
  parseResourceRequest,
  parseSetIamPolicyRequest,
  parseUpdateServiceRequest,
  type CreateServiceRequest,
  type ResourceRequest,
  type Revision,
  type Service,
  type SetIamPolicyRequest,
  type StoredPolicy,
  type StoredService,
  type UpdateServiceRequest,
} from './messages';
import {secretEnv} from './container-command';
import {checkServiceId, defaultServiceUri, notFoundMessage, parseName, parseParent, revisionId} from './names';
import {defaultRunner, type RevisionReadiness, type RevisionRunner} from './revision-runner';
import {failedConditions, readyConditions, reconcilingConditions, revisionConditions, trafficStatuses} from './service-status';
import {canonicalJson, checkTemplate, literalEnv, newRevision, withDefaults} from './template';
import {checkTraffic, mutableFields, pickTopLevel, LATEST} from './spec';
import {revisionsToRestart, withUri, type SavedService} from './persisted';
import {TagUris, type TagUriSource} from './tag-uris';

export {defaultRunner, containerFailedMessage, type RevisionRunner, type RevisionReadiness, type RevisionToStart} from './revision-runner';

/** Options of {@link CloudRunEmulator}. */
export interface CloudRunEmulatorOptions {
  /** Decides whether new revisions become ready; default: ready unless the image contains `crash`. */
  runner?: ScalingRunner;
  /** A service's stable URL, asked once at creation; default a `https://<service>-<hash>-<region>.a.run.app` look-alike. */
  serviceUri?: (name: {project: string; location: string; service: string}) => string | Promise<string>;
  /**
   * The stable URL of a service's traffic tag, asked when a request first names the tag; default
   * Cloud Run's `https://<tag>---<service URL host>`. It goes into `trafficStatuses[].uri`.
   */
  tagUri?: TagUriSource;
  /** Written to creator / lastModifier. */
  principal?: string;
  /** Called after every change to services, revisions or policies, e.g. to save {@link CloudRunEmulator.snapshot}. */
  onChange?: () => void;
  /**
   * The project and region whose revisions the runner (and {@link CloudRunEmulator.revisionUrl})
   * knows by their id alone (`hello-00001-abc`); a revision of a service in another region is
   * `<id>.<region>`, in another project `<id>.<project>.<region>`, since revision ids are unique
   * only within a region. Default: the first service's.
   */
  home?: {project: string; location: string};
}

/** What {@link CloudRunEmulator.restore} brought back. */
export interface RestoreReport {
  services: number;
  /** Each revision run again, and whether it is ready. */
  revisions: Array<{service: string; revision: string} & RevisionReadiness>;
  /** Services (or their tags) whose URL changed, because the saved one could not be had again. */
  moved: Array<{service: string; tag?: string; from: string; to: string}>;
}

/** A runner that can also scale down a revision once traffic has moved away from it. */
export interface ScalingRunner extends RevisionRunner {
  /** Called with the revision id when it no longer receives traffic; it may stop after requests in flight. */
  retire?(revisionId: string): void;
  /** Called with the id of a serving revision before a request is sent to it: start it again if it crashed. */
  wake?(revisionId: string): Promise<void>;
}

interface ServiceRecord {
  service: StoredService;
  revisions: Map<string, Revision>;
  /** The service's IAM policy (google.iam.v1.Policy); a new service has none but an etag. */
  policy?: StoredPolicy;
}

const SERVICE = 'google.cloud.run.v2.Service';
const REVISION = 'google.cloud.run.v2.Revision';
// gRPC code of the failed operation when a new revision never gets ready: terraform's google provider
// printed "Error code 9, message: Revision '...' is not ready and cannot serve traffic. The user-provided
// container failed to start and listen on the port ..." in 2025 (transparency-dev/tesseract#413,
// octo-sts/app#1005); reports from 2024 show code 13 with the same message (chainguard-dev/terraform-infra-common#498).
const REVISION_FAILED_CODE = 9;

// Cloud Run v2's service config serves Operations under /v2 (services_client's lroOptions.httpRules).
const OPERATION_HTTP_RULES: Record<string, HttpRuleOption> = {
  GetOperation: {get: '/v2/{name=projects/*/locations/*/operations/*}'},
  ListOperations: {get: '/v2/{name=projects/*/locations/*}/operations'},
  DeleteOperation: {delete: '/v2/{name=projects/*/locations/*/operations/*}'},
  WaitOperation: {post: '/v2/{name=projects/*/locations/*/operations/*}:wait', body: '*'},
};

const newEtag = () => randomBytes(12).toString('base64url');

/** A local Cloud Run Admin API v2 (Services with their IAM policies, Revisions, Operations) that the official ServicesClient can use. */
export class CloudRunEmulator extends GrpcEmulator {
  private readonly records = new Map<string, ServiceRecord>();
  private readonly operations = new OperationStore();
  private readonly runner: ScalingRunner;
  private readonly urls = new Map<string, string>();
  private readonly tags: TagUris;
  private stopped = false;
  private home?: {project: string; location: string};

  constructor(private readonly opts: CloudRunEmulatorOptions = {}) {
    super();
    this.runner = opts.runner ?? defaultRunner;
    this.tags = new TagUris(opts.tagUri);
    this.home = opts.home;
  }

  /** The runner's name for revision `revId` of service `serviceName` (see {@link CloudRunEmulatorOptions.home}). */
  runKey(serviceName: string, revId: string): string {
    const {project, location} = parseName(serviceName, 'service');
    this.home ??= {project, location};
    if (project === this.home.project && location === this.home.location) return revId;
    return project === this.home.project ? `${revId}.${location}` : `${revId}.${project}.${location}`;
  }

  protected servedServices(): ServedService[] {
    return [
      {
        service: 'google.cloud.run.v2.Services',
        handlers: {
          CreateService: (req) => this.createService(parseCreateServiceRequest(req)),
          UpdateService: (req) => this.updateService(parseUpdateServiceRequest(req)),
          GetService: (req) => clonePlain(this.mustGet(parseResourceRequest(req).name).service),
          ListServices: (req) => this.listServices(parseResourceRequest(req)),
          DeleteService: (req) => this.deleteService(parseResourceRequest(req)),
          GetIamPolicy: (req) => this.policyOf(this.mustGet(parseResourceRequest(req).resource)),
          SetIamPolicy: (req) => this.setIamPolicy(parseSetIamPolicyRequest(req)),
        },
      },
      {
        service: 'google.cloud.run.v2.Revisions',
        handlers: {
          GetRevision: (req) => clonePlain(this.mustGetRevision(parseResourceRequest(req).name).revision),
          ListRevisions: (req) => ({revisions: this.revisionsOf(this.mustGet(parseResourceRequest(req).parent))}),
          DeleteRevision: (req) => this.deleteRevision(parseResourceRequest(req)),
        },
      },
      this.operations.service(OPERATION_HTTP_RULES),
    ];
  }

  protected override async onStop(): Promise<void> {
    this.stopped = true;
    for (const record of this.records.values()) await this.stopRevisions(record, [...record.revisions.keys()]);
  }

  /** Copies of all services. */
  services(): StoredService[] {
    return [...this.records.values()].map((r) => clonePlain(r.service));
  }

  /** A copy of one service, by full name or service id. */
  getService(name: string): StoredService | undefined {
    const record = this.find(name);
    return record && clonePlain(record.service);
  }

  /** Copies of a service's revisions (by full name or service id), newest first. */
  revisions(serviceName: string): Revision[] {
    const record = this.find(serviceName);
    return record ? this.revisionsOf(record) : [];
  }

  /** Every service with its revisions and policy, for saving: give it to {@link restore} of the next emulator. */
  snapshot(): SavedService[] {
    return [...this.records.values()].map((r) => ({
      service: clonePlain(r.service),
      revisions: [...r.revisions.values()].map((rev) => clonePlain(rev)),
      ...(r.policy ? {policy: clonePlain(r.policy)} : {}),
    }));
  }

  /**
   * Brings back saved services (after start(), before any client call) and runs their serving
   * revisions again from the registry, resolving once each is ready or failed. `serviceUri`
   * gives each service its URL again (the saved one when it can).
   */
  async restore(
    saved: SavedService[],
    serviceUri: (service: string, savedUri: string, where: {project: string; location: string}) => Promise<string>,
    tagUri?: (service: string, tag: string, savedUri: string, where: {project: string; location: string}) => Promise<string>,
  ): Promise<RestoreReport> {
    const report: RestoreReport = {services: saved.length, revisions: [], moved: []};
    const starts: Array<Promise<void>> = [];
    for (const entry of saved) {
      const {service: id, project, location} = parseName(entry.service.name, 'service');
      const uri = await serviceUri(id, entry.service.uri, {project, location});
      if (uri !== entry.service.uri) report.moved.push({service: id, from: entry.service.uri, to: uri});
      const service = withUri(clonePlain(entry.service), uri);
      if (tagUri) report.moved.push(...(await this.tags.restore(service, entry.service, tagUri)));
      const record: ServiceRecord = {service, revisions: new Map(), policy: entry.policy};
      for (const rev of entry.revisions) {
        const revId = rev.name.split('/').pop()!;
        record.revisions.set(revId, {...clonePlain(rev), logUri: `http://127.0.0.1:${this.port}/logs/${revId}`});
      }
      this.records.set(record.service.name, record);
      for (const revId of revisionsToRestart(entry)) {
        starts.push(
          this.startRevision(record, revId, '').then(() => {
            const ready = record.revisions.get(revId)?.conditions?.[0];
            report.revisions.push(
              ready?.state === 'CONDITION_SUCCEEDED'
                ? {service: id, revision: revId, ready: true, url: this.urls.get(revId)}
                : {service: id, revision: revId, ready: false, message: ready?.message ?? 'it did not start'},
            );
          }),
        );
      }
    }
    await Promise.all(starts);
    this.opts.onChange?.();
    return report;
  }

  private statusesOf(service: {name: string; uri: string; traffic: StoredService['traffic']}, latestReady: string | undefined) {
    return trafficStatuses(service.traffic, latestReady, (tag) => this.tags.uriOf(service.name, service.uri, tag));
  }

  /**
   * Where the runner said a ready revision listens, if it said so: revision `revision` of service
   * `serviceName` (its full name), or without one, the revision the runner knows as `revision`.
   */
  revisionUrl(revision: string, serviceName?: string): string | undefined {
    return this.urls.get(serviceName ? this.runKey(serviceName, revision) : revision);
  }

  /** Before a request goes to a serving revision: the runner starts it again if its process crashed, as Cloud Run starts a new instance. */
  async wake(revision: string, serviceName?: string): Promise<void> {
    const key = serviceName ? this.runKey(serviceName, revision) : revision;
    if (this.urls.has(key)) await this.runner.wake?.(key);
  }

  private find(name: string): ServiceRecord | undefined {
    return this.records.get(name) ?? [...this.records.values()].find((r) => r.service.name.endsWith(`/services/${name}`));
  }

  private mustGet(name: string | undefined): ServiceRecord {
    const record = this.records.get(name ?? '');
    if (!record) throw rpc.notFound(notFoundMessage('SERVICE', parseName(name, 'service')));
    return record;
  }

  private mustGetRevision(name: string | undefined): {record: ServiceRecord; revision: Revision} {
    const parsed = parseName(name, 'revision');
    const record = this.records.get(name!.replace(/\/revisions\/[^/]+$/, ''));
    const revision = record?.revisions.get(parsed.revision!);
    if (!record || !revision) throw rpc.notFound(notFoundMessage('REVISION', parsed));
    return {record, revision};
  }

  private revisionsOf(record: ServiceRecord): Revision[] {
    return [...record.revisions.values()].reverse().map((r) => clonePlain(r));
  }

  private listServices(req: ResourceRequest): {services: StoredService[]} {
    const {project, location} = parseParent(req.parent);
    // Location '-' lists every location, as Cloud Run's ListServices does.
    const inParent = (name: string) =>
      location === '-' ? name.startsWith(`projects/${project}/locations/`) : name.startsWith(`${req.parent}/services/`);
    const services = [...this.records.values()].filter((r) => inParent(r.service.name));
    return {services: services.map((r) => clonePlain(r.service))};
  }

  private async createService(req: CreateServiceRequest): Promise<Operation> {
    parseParent(req.parent);
    const id = checkServiceId(req.serviceId);
    const name = `${req.parent}/services/${id}`;
    if (this.records.has(name)) throw rpc.alreadyExists(`Resource '${id}' already exists.`);
    checkTemplate(req.service?.template); // before a URL (perhaps a router port) is allocated for nothing
    const uri = await this.newServiceUri(name);
    await this.tags.allocate(name, req.service?.traffic);
    // A concurrent create may have won while the URL was allocated.
    if (this.records.has(name)) throw rpc.alreadyExists(`Resource '${id}' already exists.`);
    return this.rollout(name, undefined, req.service ?? {}, req.validateOnly, uri);
  }

  private async newServiceUri(name: string): Promise<string> {
    return (this.opts.serviceUri ?? defaultServiceUri)(parseName(name, 'service'));
  }

  private async updateService(req: UpdateServiceRequest): Promise<Operation> {
    const spec: Service = req.service ?? {};
    const name = spec.name ?? ''; // parseName rejects '' just as a missing name
    const parsed = parseName(name, 'service');
    await this.tags.allocate(name, spec.traffic);
    const record = this.records.get(name);
    if (!record) {
      if (!req.allowMissing) throw rpc.notFound(notFoundMessage('SERVICE', parsed));
      checkServiceId(parsed.service);
      checkTemplate(spec.template);
      const uri = await this.newServiceUri(name);
      // Created meanwhile: apply this request to it as an ordinary update.
      if (this.records.has(name)) return this.updateService(req);
      return this.rollout(name, undefined, spec, req.validateOnly, uri);
    }
    if (spec.etag && spec.etag !== record.service.etag) {
      // AIP-154: a stale etag is ABORTED (HTTP 409), see aip-dev/google.aip.dev#705.
      throw rpc.aborted(
        `Etag mismatch: the service '${parsed.service}' was changed since it was read (etag ${spec.etag} is stale). Read it again and retry.`,
      );
    }
    const paths = req.updateMask?.paths ?? [];
    const merged = paths.length === 0 ? spec : {...mutableFields(record.service), ...pickTopLevel(mutableFields(spec), paths)};
    return this.rollout(name, record, merged, req.validateOnly, record.service.uri);
  }

  /** Applies a full spec to a new or existing service; starts a revision when the template changed. */
  private rollout(name: string, record: ServiceRecord | undefined, spec: Service, validateOnly: boolean, uri: string): Operation {
    const parsed = parseName(name, 'service');
    checkTemplate(spec.template);
    const prev: Service = record?.service ?? {};
    const revisions = record?.revisions ?? new Map<string, Revision>();
    const now = timestamp(Date.now());
    const generation = Number(prev.generation ?? 0) + 1;
    const template = withDefaults(spec.template);
    const changed = !prev.template || canonicalJson(template) !== canonicalJson(prev.template);
    const revId: string | undefined = changed ? template.revision || revisionId(parsed.service, generation) : undefined;
    if (revId && revisions.has(revId)) {
      throw rpc.alreadyExists(`Revision named '${revId}' with different configuration already exists.`);
    }
    const traffic = spec.traffic?.length ? spec.traffic : [{type: LATEST, percent: 100}];
    checkTraffic(traffic, revisions, revId);
    const principal = this.opts.principal ?? 'dropdeploy-local@example.com';
    const next: StoredService = {
      ...mutableFields(spec),
      ...{template, traffic, name, uid: prev.uid ?? randomUUID(), generation: String(generation)},
      ...{observedGeneration: String(generation), createTime: prev.createTime ?? now, updateTime: now},
      ...{creator: prev.creator ?? principal, lastModifier: principal, uri, urls: [uri], etag: newEtag()},
      latestCreatedRevision: revId ? `${name}/revisions/${revId}` : prev.latestCreatedRevision,
      latestReadyRevision: prev.latestReadyRevision,
      trafficStatuses: this.statusesOf({name, uri, traffic}, prev.latestReadyRevision),
    };
    if (revId) Object.assign(next, reconcilingConditions(now), {conditions: prev.conditions, trafficStatuses: prev.trafficStatuses});
    else if (prev.latestCreatedRevision === prev.latestReadyRevision) Object.assign(next, readyConditions(now));
    else Object.assign(next, {reconciling: false, terminalCondition: prev.terminalCondition, conditions: prev.conditions});

    const opName = `projects/${parsed.project}/locations/${parsed.location}/operations/${randomUUID()}`;
    const op = this.operations.start(opName, SERVICE, next);
    if (validateOnly) return this.operations.finish(opName, {response: {type: SERVICE, value: next}})!;
    const stored: ServiceRecord = record ?? {service: next, revisions};
    stored.service = next;
    this.records.set(name, stored);
    if (!revId) {
      this.opts.onChange?.();
      // Traffic moved back to a revision that had scaled to zero: it starts again, as Cloud Run
      // starts an instance of a revision that gets traffic.
      const idle = this.idleServed(stored);
      if (!idle.length) return this.operations.finish(opName, {response: {type: SERVICE, value: next}})!;
      void Promise.all(idle.map((id) => this.startRevision(stored, id, ''))).then(() =>
        this.operations.finish(opName, {response: {type: SERVICE, value: stored.service}}),
      );
      return op;
    }
    revisions.set(revId, {
      ...newRevision(template, `${name}/revisions/${revId}`, now),
      ...{service: name, launchStage: next.launchStage, creator: principal, etag: newEtag()},
      logUri: `http://127.0.0.1:${this.port}/logs/${revId}`,
    });
    this.opts.onChange?.();
    void this.startRevision(stored, revId, opName);
    return op;
  }

  private async startRevision(record: ServiceRecord, revId: string, opName: string): Promise<void> {
    const revision = record.revisions.get(revId)!;
    const container = revision.containers[0];
    const key = this.runKey(record.service.name, revId);
    const readiness: RevisionReadiness = await this.runner
      .start({
        ...{service: parseName(record.service.name, 'service').service, name: revId, id: key},
        ...{serviceName: record.service.name, revisionName: revision.name, image: container.image},
        ...{env: literalEnv(container), secretEnv: secretEnv(container), command: container.command ?? [], args: container.args ?? []},
        ...{port: container.ports?.[0]?.containerPort ?? 8080, template: clonePlain(record.service.template)},
      })
      .catch((err: unknown) => ({ready: false as const, message: `Revision '${revId}' failed to start: ${String(err)}`}));
    // A service deleted (or an emulator stopped) meanwhile has nobody left to tell.
    if (this.stopped || this.records.get(record.service.name) !== record || !record.revisions.has(revId)) return;
    const now = timestamp(Date.now());
    Object.assign(revision, {reconciling: false, updateTime: now, conditions: revisionConditions(readiness, now)});
    const service = record.service;
    const isLatest = service.latestCreatedRevision === revision.name;
    if (readiness.ready) {
      if (readiness.url) this.urls.set(key, readiness.url);
      if (isLatest) {
        service.latestReadyRevision = revision.name;
        Object.assign(service, readyConditions(now));
        service.trafficStatuses = this.statusesOf(service, service.latestReadyRevision);
      }
      this.retireUnserved(record);
      this.opts.onChange?.();
      this.operations.finish(opName, {response: {type: SERVICE, value: service}});
      return;
    }
    // Traffic, latestReadyRevision and trafficStatuses stay on the last good revision.
    if (isLatest) Object.assign(service, failedConditions(readiness.message, now, !!service.latestReadyRevision));
    this.opts.onChange?.();
    this.operations.setMetadata(opName, SERVICE, service);
    this.operations.finish(opName, {error: {code: REVISION_FAILED_CODE, message: readiness.message, details: []}});
  }

  private policyOf(record: ServiceRecord): StoredPolicy {
    record.policy ??= {version: 1, etag: randomBytes(8)};
    return clonePlain(record.policy);
  }

  /** Replaces a service's policy, as Cloud Run does: a stale etag is ABORTED, members must look like IAM members. */
  private setIamPolicy(req: SetIamPolicyRequest): StoredPolicy {
    const record = this.mustGet(req.resource);
    const current = this.policyOf(record);
    const policy = req.policy ?? {};
    if (policy.etag?.length && !Buffer.from(policy.etag).equals(Buffer.from(current.etag))) {
      throw rpc.aborted('There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.');
    }
    for (const b of policy.bindings ?? []) {
      if (!/^roles\/|^(projects|organizations)\/[^/]+\/roles\//.test(b.role ?? ''))
        throw rpc.invalidArgument(`Role ${b.role} is not supported for this resource.`);
      for (const m of b.members ?? []) {
        if (!/^(allUsers|allAuthenticatedUsers|(user|serviceAccount|group|domain|principal|principalSet|deleted:\w+):\S+)$/.test(m))
          throw rpc.invalidArgument(`Invalid principal: ${m}`);
      }
    }
    record.policy = {version: policy.version || 1, bindings: clonePlain(policy.bindings ?? []), etag: randomBytes(8)};
    this.opts.onChange?.();
    return clonePlain(record.policy);
  }

  private async deleteService(req: ResourceRequest): Promise<Operation> {
    const record = this.mustGet(req.name);
    if (req.etag && req.etag !== record.service.etag) throw rpc.aborted(`Etag mismatch: etag ${req.etag} is stale.`);
    const parsed = parseName(req.name, 'service');
    const deleted = {...clonePlain(record.service), deleteTime: timestamp(Date.now())};
    const opName = `projects/${parsed.project}/locations/${parsed.location}/operations/${randomUUID()}`;
    this.operations.start(opName, SERVICE, deleted);
    if (req.validateOnly) return this.operations.finish(opName, {response: {type: SERVICE, value: deleted}})!;
    this.records.delete(record.service.name);
    this.opts.onChange?.();
    await this.stopRevisions(record, [...record.revisions.keys()]);
    return this.operations.finish(opName, {response: {type: SERVICE, value: deleted}})!;
  }

  private async deleteRevision(req: ResourceRequest): Promise<Operation> {
    const {record, revision} = this.mustGetRevision(req.name);
    const id = revision.name.split('/').pop()!;
    const serving = (record.service.trafficStatuses ?? []).some((t) => t.revision === id && (t.percent ?? 0) > 0);
    if (serving || record.service.latestCreatedRevision === revision.name) {
      throw rpc.failedPrecondition(`Revision '${id}' cannot be deleted: it is the latest revision or receives traffic.`);
    }
    const parsed = parseName(req.name, 'revision');
    const opName = `projects/${parsed.project}/locations/${parsed.location}/operations/${randomUUID()}`;
    this.operations.start(opName, REVISION, revision);
    if (!req.validateOnly) {
      await this.stopRevisions(record, [id]);
      record.revisions.delete(id);
      this.opts.onChange?.();
    }
    return this.operations.finish(opName, {response: {type: REVISION, value: revision}})!;
  }

  /** Revisions that get traffic (or a tag) now, are ready, and do not run: retired when they lost their traffic. */
  private idleServed(record: ServiceRecord): string[] {
    const served = new Set((record.service.trafficStatuses ?? []).filter((t) => (t.percent ?? 0) > 0 || t.tag).map((t) => t.revision));
    return [...record.revisions.entries()]
      .filter(
        ([id, rev]) =>
          served.has(id) && rev.conditions?.[0]?.state === 'CONDITION_SUCCEEDED' && !this.urls.has(this.runKey(record.service.name, id)),
      )
      .map(([id]) => id);
  }

  /** Cloud Run scales a revision without traffic to zero; a runner that can, stops it after requests in flight. */
  private retireUnserved(record: ServiceRecord): void {
    if (!this.runner.retire) return;
    const served = new Set((record.service.trafficStatuses ?? []).filter((t) => (t.percent ?? 0) > 0 || t.tag).map((t) => t.revision));
    for (const id of record.revisions.keys()) {
      const key = this.runKey(record.service.name, id);
      if (!this.urls.has(key) || served.has(id)) continue;
      this.urls.delete(key);
      this.runner.retire(key);
    }
  }

  private async stopRevisions(record: ServiceRecord, ids: string[]): Promise<void> {
    for (const id of ids) {
      const key = this.runKey(record.service.name, id);
      this.urls.delete(key);
      if (record.revisions.get(id)?.conditions?.[0]?.state !== 'CONDITION_FAILED') await this.runner.stop?.(key);
    }
  }
}
