/**
 * Waiting for another delivery's step: poll the store until it is done or its lease ends,
 * within the configured bound; past it, ask the platform to redeliver later.
 */
import {durations} from '../config';
import {RetryableError} from '../errors';
import type {Ctx} from './deps';

const POLL_MS = 250;

/**
 * Calls `attempt` until it returns a value (not undefined), or throws a retryable error after
 * `waitSeconds` or at the handler's deadline, whichever comes first.
 */
export async function retryWhileBusy<T>(
  {deps, deadline: handlerDeadline}: Ctx,
  what: string,
  attempt: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Math.min(handlerDeadline, deps.now().getTime() + durations(deps.config).waitMs);
  for (;;) {
    const result = await attempt();
    if (result !== undefined) return result;
    if (deps.now().getTime() >= deadline) {
      throw new RetryableError(
        `${what} is still in progress in another delivery after ${deps.config.waitSeconds}s; an event is redelivered by the platform, a request can be retried`,
        'BUSY',
      );
    }
    await deps.sleep(POLL_MS);
  }
}
