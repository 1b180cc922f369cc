/**
 * What the controller's handlers need: configuration, the ports, a clock and a logger.
 * The composition root provides the real ones; each port is built on first use.
 */
import {durations, type Config} from '../config';
import type {Logger} from '../log';
import type {DeployTarget} from '../releases/targets';
import type {Builds, InvokerPolicy, Metrics, Objects, Prober, ReleaseStore, Services, StatusPublisher} from '../ports';

/** The handlers' dependencies. */
export interface Deps {
  config: Config;
  store(): Promise<ReleaseStore>;
  builds(): Promise<Builds>;
  /**
   * Cloud Run in `target`'s project and region (a service's other deploy targets); without one,
   * in the controller's own.
   */
  services(target?: DeployTarget): Promise<Services>;
  publisher(): Promise<StatusPublisher>;
  objects(): Promise<Objects>;
  now(): Date;
  /** A unique id for one handler invocation (the holder of its leases). */
  newId(): string;
  sleep(ms: number): Promise<void>;
  /** Closes the clients built so far (tests and the local stack; a function instance just ends). */
  close(): Promise<void>;
  /** Cloud Run IAM of the controller's own services (the API's check in mode cloud-run-iam). */
  invokerPolicy(): Promise<InvokerPolicy>;
  /** HTTP checks of a rollout's tagged revision. */
  prober(): Promise<Prober>;
  /** Cloud Monitoring: a revision's request count, 5xx count and p99 latency (the canary gates). */
  metrics(): Promise<Metrics>;
}

/** What a handler reports back, for logs and tests. */
export interface Outcome {
  action: string;
  detail?: string;
  service?: string;
  release?: number;
}

/** A handler's context: dependencies, a logger bound to the event, and its deadline. */
export interface Ctx {
  deps: Deps;
  log: Logger;
  /** When this handler must be done (ms since the epoch): inside the function timeout, with a reserve. */
  deadline: number;
}

/** A new handler context, its deadline counted from now. */
export function newCtx(deps: Deps, log: Logger): Ctx {
  return {deps, log, deadline: deps.now().getTime() + durations(deps.config).handlerMs};
}
