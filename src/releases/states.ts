/**
 * The states of a release, and the ones it ends in. The API's contract: the controller, the
 * store's queries and the CLI read them here (the CLI loads nothing else of the controller).
 */

/** Every state a release can be in. */
export const STATES = [
  'accepted',
  'building',
  'deploying',
  'verifying',
  'rolling_out',
  'deployed',
  'build_failed',
  'deploy_failed',
  'superseded',
  'rejected',
  'rolled_back',
] as const;
/** A release state. */
export type State = (typeof STATES)[number];
/** States after which nothing happens to a release. */
export const TERMINAL: ReadonlySet<State> = new Set(['deployed', 'build_failed', 'deploy_failed', 'superseded', 'rejected', 'rolled_back']);
/** States of a progressive rollout: the revision exists, traffic is on its way to it. */
export const ROLLOUT_STATES: ReadonlySet<State> = new Set(['verifying', 'rolling_out']);

/** True for a state a release ends in (any string, as a client reads it from JSON). */
export function isTerminalState(state: string): boolean {
  return (TERMINAL as ReadonlySet<string>).has(state);
}
