/**
 * What the controller's handlers need: configuration, the ports, a clock and a logger.
 * The composition root provides the real ones; each port is built on first use.
 */
import type {Config} from '../config';
import type {Logger} from '../log';
import type {Builds, Objects, ReleaseStore, Services, StatusPublisher} from '../ports';

/** The handlers' dependencies. */
export interface Deps {
  config: Config;
  store(): Promise<ReleaseStore>;
  builds(): Promise<Builds>;
  services(): Promise<Services>;
  publisher(): Promise<StatusPublisher>;
  objects(): Promise<Objects>;
  now(): Date;
  /** A unique id for one handler invocation (the holder of its leases). */
  newId(): string;
  sleep(ms: number): Promise<void>;
  /** Closes the clients built so far (tests and the local stack; a function instance just ends). */
  close(): Promise<void>;
}

/** What a handler reports back, for logs and tests. */
export interface Outcome {
  action: string;
  detail?: string;
  service?: string;
  release?: number;
}

/** A handler's context: dependencies and a logger bound to the event. */
export interface Ctx {
  deps: Deps;
  log: Logger;
}
