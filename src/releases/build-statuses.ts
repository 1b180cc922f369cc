/**
 * Cloud Build's `Build.Status` (google.devtools.cloudbuild.v1): the one table of its names and
 * numbers, and the statuses after which a build never changes. The controller, the event
 * decoder, the Cloud Build adapter and the local Cloud Build emulator all read them here; a
 * test compares the table with the enum in the client library's protos.
 */

/** Status names by their number on the wire, for payloads and SDK results that carry numbers. */
export const BUILD_STATUS_BY_NUMBER: Readonly<Record<number, string>> = {
  0: 'STATUS_UNKNOWN',
  10: 'PENDING',
  1: 'QUEUED',
  2: 'WORKING',
  3: 'SUCCESS',
  4: 'FAILURE',
  5: 'INTERNAL_ERROR',
  6: 'TIMEOUT',
  7: 'CANCELLED',
  9: 'EXPIRED',
};

/** Statuses a build ends in; only these move a release on. */
export const TERMINAL_BUILD_STATUSES: ReadonlySet<string> = new Set([
  'SUCCESS',
  'FAILURE',
  'INTERNAL_ERROR',
  'TIMEOUT',
  'CANCELLED',
  'EXPIRED',
]);

/** True for a status a build ends in (false for a missing one). */
export function isTerminalBuildStatus(status: string | undefined): boolean {
  return status !== undefined && TERMINAL_BUILD_STATUSES.has(status);
}
