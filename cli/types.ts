/**
 * The API's JSON as the CLI reads it. Types only (erased at runtime): of the controller's
 * code the CLI loads only the release states (`src/releases/states.ts`) and the rollout
 * policy's rules (`src/releases/rollout-policy.ts`), both pure.
 */
import type {Release, State} from '../src/releases/release';
import type {ServiceSummary} from '../src/ports';
import type {ServiceEnv} from '../src/controller/env';
import type {PolicyView} from '../src/controller/policy';
import type {PreviewView} from '../src/releases/preview-decisions';

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

/** `GET /v1/services/{service}/env`: the serving container's environment. */
export type ApiEnv = ServiceEnv;

/** `GET`/`PATCH /v1/services/{service}/policy`: the effective and the stored rollout policy. */
export type ApiPolicy = PolicyView;

/** One entry of `GET /v1/services/{service}/previews`. */
export type ApiPreview = PreviewView;
