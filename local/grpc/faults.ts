/** A scripted failure: answer matching RPCs with `code` (after `delayMs`) instead of doing the work. */
export interface FaultSpec {
  /** RPC short name such as `GetBuild`; every method if absent. */
  method?: string;
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

  /** The fault that hits this call, if any, using up one of its `times`. */
  take(method: string, random: () => number = Math.random): FaultSpec | undefined {
    // The first matching fault that hits; one spared by its probability leaves the call to the next.
    const fault = this.faults.find(
      (f) =>
        f.remaining > 0 && (!f.method || f.method === method) && (f.probability === undefined || (f.random ?? random)() < f.probability),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    this.faults = this.faults.filter((f) => f.remaining > 0);
    return fault;
  }
}
