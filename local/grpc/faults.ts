/** A scripted failure: answer matching RPCs with `code` (after `delayMs`) instead of doing the work. */
export interface FaultSpec {
  /** RPC short name such as `GetBuild`; every method if absent. */
  method?: string;
  /**
   * Only calls whose request names a resource containing this (`locations/europe-west1/`): its
   * `name`, `parent`, `resource` or `service.name`. A fault for one region of several (the local
   * emulators only: the fault proxy does not read requests).
   */
  resource?: string;
  /** gRPC status code to answer with; with only `delayMs` set the call is delayed, then served. */
  code?: number;
  /** How many calls the fault applies to (default 1; `Infinity` for all). */
  times?: number;
  /** Chance (0..1) that a matching call is hit; a call that is spared does not use up `times`. */
  probability?: number;
  /** The draw `probability` is compared with (default Math.random): tests pass a seeded one to replay a run. */
  random?: () => number;
  delayMs?: number;
  message?: string;
  /** Do the call's work, then answer `code` anyway: the caller sees a failure of what happened. */
  afterForwarding?: boolean;
}

interface ActiveFault extends FaultSpec {
  remaining: number;
}

/** The faults waiting to hit calls, in the order they were injected (knative's InduceFailure, for gRPC). */
export class FaultPlan {
  private faults: ActiveFault[] = [];

  add(spec: FaultSpec): void {
    this.faults.push({...spec, remaining: spec.times ?? 1});
  }

  clear(): void {
    this.faults = [];
  }

  /** The fault that hits this call (of `method`, naming `resource`), if any, using up one of its `times`. */
  take(method: string, random: () => number = Math.random, resource?: string): FaultSpec | undefined {
    // The first matching fault that hits; one spared by its probability leaves the call to the next.
    const fault = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        (!f.method || f.method === method) &&
        (f.resource === undefined || !!resource?.includes(f.resource)) &&
        (f.probability === undefined || (f.random ?? random)() < f.probability),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    this.faults = this.faults.filter((f) => f.remaining > 0);
    return fault;
  }
}

/** The resource a request names (`name`, `parent`, `resource`, or `service.name`), for {@link FaultSpec.resource}. */
export function requestResource(request: unknown): string | undefined {
  if (!request || typeof request !== 'object') return undefined;
  const r = request as {name?: unknown; parent?: unknown; resource?: unknown; service?: {name?: unknown}};
  for (const v of [r.name, r.parent, r.resource, r.service?.name]) if (typeof v === 'string' && v) return v;
  return undefined;
}
