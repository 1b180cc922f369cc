/**
 * Publishes the status events a release still owes, oldest first, then records them. A crash
 * in between only repeats an event with the same `ce-id`, which subscribers drop.
 */
import type {Release} from '../releases/release';
import {unpublished} from '../releases/release';
import {releaseStatusMessage} from '../releases/status-event';
import type {Ctx} from './deps';

/** Publishes every unannounced state of `r`. */
export async function publishPending({deps, log}: Ctx, r: Release): Promise<void> {
  const states = unpublished(r);
  if (!states.length) return;
  const publisher = await deps.publisher();
  // All at once: they share the service's ordering key, so the client sends them in order, in
  // one request, and a failure of one fails those after it.
  await Promise.all(states.map((state) => publisher.publish(releaseStatusMessage(r, state, deps.config))));
  for (const state of states) log.info(`status ${state} published`, {state});
  const store = await deps.store();
  await store.markPublished(r.service, r.release, states);
}
