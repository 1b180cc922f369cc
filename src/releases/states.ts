/**
 * The states of a release, and the ones it ends in. The API's contract: the controller, the
 * store's queries and the CLI read them here (the CLI loads nothing else of the controller).
 */

/** Every state a release can be in. */
export const STATES = ['accepted', 'building', 'deploying', 'deployed', 'build_failed', 'deploy_failed', 'superseded', 'rejected'] as const;
/** A release state. */
export type State = (typeof STATES)[number];
/** States after which nothing happens to a release. */
export const TERMINAL: ReadonlySet<State> = new Set(['deployed', 'build_failed', 'deploy_failed', 'superseded', 'rejected']);

/** True for a state a release ends in (any string, as a client reads it from JSON). */
export function isTerminalState(state: string): boolean {
  return (TERMINAL as ReadonlySet<string>).has(state);
}
