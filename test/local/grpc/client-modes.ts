/**
 * Running one contract suite with an official client in both of its transports: gRPC, and REST
 * mode (`fallback: true`) against the emulator's REST server, as gcloud and browsers call Google.
 */
import assert from 'node:assert/strict';
import {Status} from 'google-gax';

/** The two transports a suite runs with. */
export const CLIENT_MODES = ['grpc', 'rest'] as const;
export type ClientMode = (typeof CLIENT_MODES)[number];

/**
 * The gRPC status code of a failed call. In REST mode google-gax 5 rejects with gaxios' error,
 * whose `code` is the HTTP status and whose message is the google.rpc.Status JSON
 * (googleapis/gax-nodejs#1803): its `status` names the code, as an adapter would read it.
 */
export function grpcCode(err: unknown): number | undefined {
  const e = err as {code?: unknown; message?: string};
  if (typeof e.code === 'number' && e.code < 100) return e.code;
  try {
    const status = (JSON.parse(e.message ?? '') as {error?: {status?: string}}).error?.status;
    return status === undefined ? undefined : Status[status as keyof typeof Status];
  } catch {
    return undefined;
  }
}

/** Asserts that `call` fails with gRPC code `code`, in either transport. */
export async function rejectsWithCode(call: Promise<unknown>, code: number): Promise<void> {
  await assert.rejects(call, (err: unknown) => {
    assert.equal(grpcCode(err), code, `expected gRPC code ${code}, got ${String((err as Error).message)}`);
    return true;
  });
}
