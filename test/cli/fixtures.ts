/**
 * Releases as the API answers them, for the CLI's unit tests.
 */
import type {ApiRelease} from '../../cli/types';

/** A release with sensible defaults, `patch` on top. */
export function release(n: number, patch: Partial<ApiRelease> = {}): ApiRelease {
  return {
    service: 'web',
    release: n,
    state: 'deployed',
    trigger: 'upload',
    actor: 'gs://dd-sources/web/v.zip#1 (Eventarc)',
    source: {bucket: 'dd-sources', object: `web/v${n}.zip`, generation: `10${n}`},
    createTime: '2026-11-28T09:00:00.000Z',
    updateTime: '2026-11-28T09:01:00.000Z',
    history: [{state: 'accepted', time: '2026-11-28T09:00:00.000Z'}],
    ...patch,
  };
}

/** `json` as a release, once it is seen to be one (what the API answers is not typed). */
export function asRelease(json: unknown): ApiRelease {
  if (
    typeof json !== 'object' ||
    json === null ||
    !('release' in json) ||
    typeof json.release !== 'number' ||
    !('state' in json) ||
    typeof json.state !== 'string'
  ) {
    throw new Error(`not a release: ${JSON.stringify(json)}`);
  }
  return json as ApiRelease;
}
