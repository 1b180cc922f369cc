/**
 * Cloud Run adapter: the {@link Services} port on `@google-cloud/run` (v2 API). Create and
 * update wait for the long-running operation, so the outcome is the rollout's.
 */
import type {RevisionsClient, ServicesClient} from '@google-cloud/run';
import {describeError, RetryableError} from '../errors';
import {classify, grpcCode, Status, wrapAsync} from './grpc-errors';
import type {DeployOutcome, Services} from '../ports';
import type {RunRevision, RunService} from '../releases/service-spec';
import {enumName, toPlain} from './plain';

const REVISION_NOT_READY = /Revision '[^']+' is not ready and cannot serve traffic/;
const CONDITION_STATE: Record<number, string> = {
  0: 'STATE_UNSPECIFIED',
  1: 'CONDITION_PENDING',
  2: 'CONDITION_RECONCILING',
  3: 'CONDITION_FAILED',
  4: 'CONDITION_SUCCEEDED',
};

interface PlainService extends RunService {
  latestReadyRevision?: string;
  latestCreatedRevision?: string;
  terminalCondition?: {state?: unknown; message?: string};
  trafficStatuses?: Array<{tag?: string; uri?: string}>;
}

/**
 * Polling a rollout: from 20 ms, ×1.3, at most 5 s apart (gax's default starts at 100 ms and lets
 * the gap grow to 60 s). A revision that starts fast is seen ready within tens of ms; a slow
 * rollout costs about ten more GetOperation calls than gax's default would.
 */
const POLL = {initialRetryDelayMillis: 20, retryDelayMultiplier: 1.3, maxRetryDelayMillis: 5000};
const REPOLL_PAUSE_MS = 1000;

/** The part of a gax long-running operation this adapter uses. */
interface Rollout {
  name?: string | null;
  /** The operation as last fetched: `done` once it ended, with its result or its own error. */
  latestResponse?: {done?: boolean | null};
  backoffSettings: {totalTimeoutMillis?: number | null};
  promise(): Promise<unknown[]>;
}

/** {@link Services} on the Cloud Run Admin API v2. */
export class CloudRunAdapter implements Services {
  constructor(
    private readonly client: ServicesClient,
    private readonly projectId: string,
    private readonly region: string,
    /** Read only for rollbacks and after a failed revision, so made on first use. */
    private readonly revisions: () => Promise<RevisionsClient>,
  ) {}

  private parent(): string {
    return `projects/${this.projectId}/locations/${this.region}`;
  }

  async get(service: string): Promise<RunService | undefined> {
    try {
      const [svc] = await this.client.getService({name: `${this.parent()}/services/${service}`});
      return toPlain<RunService>(svc);
    } catch (err) {
      if (grpcCode(err) === Status.NOT_FOUND) return undefined;
      throw classify(err, `Cloud Run GetService ${service}`);
    }
  }

  async getRevision(service: string, revision: string): Promise<RunRevision | undefined> {
    try {
      const client = await this.revisions();
      const [rev] = await client.getRevision({name: `${this.parent()}/services/${service}/revisions/${revision}`});
      return toPlain<RunRevision>(rev);
    } catch (err) {
      if (grpcCode(err) === Status.NOT_FOUND) return undefined;
      throw classify(err, `Cloud Run GetRevision ${revision}`);
    }
  }

  async create(service: string, spec: RunService, waitMs: number): Promise<DeployOutcome> {
    const what = `Cloud Run CreateService ${service}`;
    const [op] = await wrapAsync(what, () =>
      this.client.createService({parent: this.parent(), serviceId: service, service: spec as never}),
    );
    return this.outcome(what, () => this.settle(what, op, (name) => this.client.checkCreateServiceProgress(name), waitMs));
  }

  async update(spec: RunService, waitMs: number): Promise<DeployOutcome> {
    const what = `Cloud Run UpdateService ${spec.name}`;
    const [op] = await wrapAsync(what, () => this.client.updateService({service: spec as never}));
    return this.outcome(what, () => this.settle(what, op, (name) => this.client.checkUpdateServiceProgress(name), waitMs));
  }

  /**
   * Waits for a rollout for at most `waitMs` (the handler's deadline). A failed poll (GetOperation unavailable) is not
   * the rollout's outcome: Cloud Run took the change and goes on with it, so the operation is
   * fetched again by name and waited on, rather than failing a deploy that is under way.
   */
  private async settle(what: string, first: Rollout, fetch: (name: string) => Promise<Rollout>, waitMs: number): Promise<unknown[]> {
    const deadline = Date.now() + waitMs;
    let op: Rollout | undefined = first;
    for (;;) {
      if (op) {
        op.backoffSettings = {...op.backoffSettings, ...POLL, totalTimeoutMillis: Math.max(1, deadline - Date.now())};
        try {
          return await op.promise();
        } catch (err) {
          // The operation's own error (done, with an error) is the outcome; so is a timeout.
          if (op.latestResponse?.done || !classify(err, what).retryable || Date.now() >= deadline) throw err;
        }
      }
      await new Promise((r) => setTimeout(r, REPOLL_PAUSE_MS));
      if (Date.now() >= deadline)
        throw new RetryableError(
          `${what}: the rollout did not finish within ${Math.round(waitMs / 1000)}s; the event will be redelivered`,
          'ROLLOUT_TIMEOUT',
        );
      op = await fetch(first.name!).catch((err) => {
        if (!classify(err, what).retryable) throw err;
        return undefined;
      });
    }
  }

  /**
   * Waits for the operation. A revision that cannot serve fails the operation with a
   * non-transient code: that is the deploy's outcome, not an adapter error.
   */
  private async outcome(what: string, wait: () => Promise<unknown[]>): Promise<DeployOutcome> {
    let result: PlainService;
    try {
      const [svc] = await wait();
      result = toPlain<PlainService>(svc);
    } catch (err) {
      const message = describeError(err);
      // A revision that cannot start is the deploy's outcome, whatever code the operation
      // carries: reports show FAILED_PRECONDITION (2025) and INTERNAL (2024) for it.
      if (REVISION_NOT_READY.test(message)) return {ok: false, message};
      const e = classify(err, what);
      if (e.retryable || grpcCode(err) === undefined) throw e;
      return {ok: false, message};
    }
    const state = enumName(result.terminalCondition?.state, CONDITION_STATE);
    const ready = lastSegment(result.latestReadyRevision);
    const created = lastSegment(result.latestCreatedRevision);
    if (state !== 'CONDITION_SUCCEEDED' || !ready || (created && created !== ready)) {
      return {ok: false, message: result.terminalCondition?.message || `revision ${created ?? '?'} is not ready`, revision: created};
    }
    const tagUrls: Record<string, string> = {};
    for (const t of result.trafficStatuses ?? []) if (t.tag && t.uri) tagUrls[t.tag] = t.uri;
    return {ok: true, revision: ready, url: result.uri, ...(Object.keys(tagUrls).length ? {tagUrls} : {})};
  }
}

/** Revisions are full resource names in v2; the short name is the last segment. */
function lastSegment(name: string | undefined): string | undefined {
  return name ? name.split('/').pop() : undefined;
}
