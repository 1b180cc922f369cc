/**
 * The API's JSON as the CLI reads it. Types only (erased at runtime), so the CLI loads none
 * of the controller's code.
 */
import type {Release, State} from '../src/releases/release';
import type {ServiceSummary} from '../src/ports';

/** A release as the API answers it (the outbox bookkeeping is not sent). */
export type ApiRelease = Omit<Release, 'published'>;
/** A release state. */
export type ReleaseState = State;
/** One entry of `GET /v1/services`. */
export type ApiService = ServiceSummary;

/** One page of `GET /v1/services/{service}/releases`. */
export interface ReleasePage {
  releases: ApiRelease[];
  nextPageToken?: string;
}

/** States after which nothing happens to a release (mirrors the controller's TERMINAL). */
export const TERMINAL_STATES: ReadonlySet<string> = new Set(['deployed', 'build_failed', 'deploy_failed', 'superseded', 'rejected']);
