/**
 * Small in-memory fakes of the ports, for the handlers' paths where the emulators add nothing:
 * routing, refusals, the outbox, waiting. The store's transactions are the Firestore
 * emulator's business (test/integration/); a fake here implements only what a test gives it,
 * and any other call fails loudly.
 */
import {parseConfig} from '../../src/config';
import type {Deps} from '../../src/controller/deps';
import {Logger} from '../../src/log';
import type {Builds, Objects, ReleaseStore, Services, StatusPublisher} from '../../src/ports';
import type {StatusMessage} from '../../src/releases/status-event';

export const ENV = {
  DROPDEPLOY_PROJECT: 'fake-project',
  DROPDEPLOY_REGION: 'europe-west1',
  DROPDEPLOY_REPOSITORY: 'dropdeploy',
  DROPDEPLOY_STATUS_TOPIC: 'status',
  DROPDEPLOY_BUCKETS: 'dd-sources',
  DROPDEPLOY_API_AUTH: 'none',
};

/** `impl`, where any method it lacks throws, naming the port and the method. */
export function only<T extends object>(port: string, impl: Partial<T>): T {
  return new Proxy(impl, {
    get(target, name, receiver) {
      if (name === 'then' || typeof name === 'symbol' || name in target) return Reflect.get(target, name, receiver) as unknown;
      return () => Promise.reject(new Error(`fake ${port}.${name}: not expected in this test`));
    },
  }) as T;
}

/** A publisher that keeps what it was given; `fail` makes the next publishes throw it. */
export class FakePublisher implements StatusPublisher {
  readonly messages: StatusMessage[] = [];
  fail?: Error;

  publish(message: StatusMessage): Promise<void> {
    if (this.fail) return Promise.reject(this.fail);
    this.messages.push(message);
    return Promise.resolve();
  }
}

/** A clock that moves only when the handler sleeps. */
export class FakeClock {
  constructor(public ms = Date.parse('2026-12-01T12:00:00Z')) {}
  readonly slept: number[] = [];
  now = (): Date => new Date(this.ms);
  sleep = (ms: number): Promise<void> => {
    this.slept.push(ms);
    this.ms += ms;
    return Promise.resolve();
  };
}

export interface Fakes {
  deps: Deps;
  publisher: FakePublisher;
  clock: FakeClock;
  logs: Array<{severity: string; message: string} & Record<string, unknown>>;
  log: Logger;
}

/** Deps over fakes: a store, builds, services and objects only as far as `ports` gives them. */
export function fakeDeps(
  ports: {store?: Partial<ReleaseStore>; builds?: Partial<Builds>; services?: Partial<Services>; objects?: Partial<Objects>} = {},
  env: Record<string, string> = {},
): Fakes {
  const publisher = new FakePublisher();
  const clock = new FakeClock();
  const logs: Fakes['logs'] = [];
  let ids = 0;
  const deps: Deps = {
    config: parseConfig({...ENV, ...env}),
    store: () => Promise.resolve(only<ReleaseStore>('store', ports.store ?? {})),
    builds: () => Promise.resolve(only<Builds>('builds', ports.builds ?? {})),
    services: () => Promise.resolve(only<Services>('services', ports.services ?? {})),
    objects: () => Promise.resolve(only<Objects>('objects', ports.objects ?? {})),
    publisher: () => Promise.resolve(publisher),
    invokerPolicy: () => Promise.reject(new Error('fake invokerPolicy: not expected in this test')),
    prober: () => Promise.reject(new Error('fake prober: not expected in this test')),
    metrics: () => Promise.reject(new Error('fake metrics: not expected in this test')),
    now: clock.now,
    sleep: clock.sleep,
    newId: () => `holder-${++ids}`,
    close: () => Promise.resolve(),
  };
  const log = new Logger({format: 'json', write: (l) => logs.push(JSON.parse(l) as Fakes['logs'][number])});
  return {deps, publisher, clock, logs, log};
}
