/**
 * Publishes the status events a release still owes, oldest first, then records them. A crash
 * in between only repeats an event with the same `ce-id`, which subscribers drop.
 */
import type {EventKey, Release} from '../releases/release';
import {unpublished} from '../releases/release';
import {releaseStatusMessage} from '../releases/status-event';
import type {Ctx} from './deps';

/**
 * Publishes every unannounced state of `r` without recording it; returns those states, for a
 * caller that records them in a write of its own.
 */
export async function publishUnannounced({deps, log}: Ctx, r: Release): Promise<EventKey[]> {
  const states = unpublished(r);
  if (!states.length) return states;
  const publisher = await deps.publisher();
  // All at once: they share the service's ordering key, so the client sends them in order, in
  // one request, and a failure of one fails those after it.
  await Promise.all(states.map((state) => publisher.publish(releaseStatusMessage(r, state, deps.config))));
  log.info(`status ${states.join(', ')} published`, {states});
  return states;
}

/** Publishes every unannounced state of `r`, then records them. */
export async function publishPending(ctx: Ctx, r: Release): Promise<void> {
  const states = await publishUnannounced(ctx, r);
  if (!states.length) return;
  await (await ctx.deps.store()).markPublished(r.service, r.release, states);
}
