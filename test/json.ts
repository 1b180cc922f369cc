/**
 * Typed JSON for tests: what a test parses, and the shapes of the HTTP API's answers.
 */
import type {ServiceSummary} from '../src/ports';
import type {Release} from '../src/releases/release';

/**
 * JSON.parse, the result named as the shape the test expects. Nothing is checked here: the
 * test's assertions on the value do that.
 */
export function parseJson<T>(text: string | Buffer): T {
  return JSON.parse(text.toString()) as T;
}

/** A release as the API answers it (the outbox bookkeeping is not sent). */
export type ApiRelease = Omit<Release, 'published'>;

/** `GET /v1/services`. */
export interface ServiceList {
  services: ServiceSummary[];
}

/** One page of `GET /v1/services/{service}/releases`. */
export interface ReleasePage {
  releases: ApiRelease[];
  nextPageToken?: string;
}

/** A refusal, in the shape Google APIs answer. */
export interface ApiErrorBody {
  error: {code: number; status: string; message: string};
}
