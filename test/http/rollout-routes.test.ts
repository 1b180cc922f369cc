import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {ApiError} from '../../src/http/errors';
import {matchRoute} from '../../src/http/routes';

describe('rollout control routes', () => {
  const rows = [
    {path: '/v1/services/web/releases/3:promote', want: {kind: 'controlRollout', service: 'web', release: 3, action: 'promote'}},
    {path: '/v1/services/web/releases/3:abort', want: {kind: 'controlRollout', service: 'web', release: 3, action: 'abort'}},
    {path: '/v1/services/web/releases/12:pause', want: {kind: 'controlRollout', service: 'web', release: 12, action: 'pause'}},
    {path: '/v1/services/web/releases/12:resume', want: {kind: 'controlRollout', service: 'web', release: 12, action: 'resume'}},
  ];
  for (const r of rows) it(`POST ${r.path}`, () => assert.deepEqual(matchRoute('POST', r.path), r.want));

  const refusals: Array<{method: string; path: string; status: number; message: RegExp}> = [
    {method: 'GET', path: '/v1/services/web/releases/3:promote', status: 405, message: /use POST/},
    {
      method: 'POST',
      path: '/v1/services/web/releases/3:skip',
      status: 404,
      message: /unknown method ":skip"; use :promote, :abort, :pause or :resume/,
    },
    {method: 'POST', path: '/v1/services/web/releases/x:abort', status: 400, message: /not a release number/},
    {method: 'POST', path: '/v1/services/Web/releases/3:abort', status: 400, message: /service/},
  ];
  for (const r of refusals)
    it(`${r.method} ${r.path} → ${r.status}`, () =>
      assert.throws(
        () => matchRoute(r.method, r.path),
        (e: unknown) => e instanceof ApiError && e.httpStatus === r.status && r.message.test(e.message),
      ));
  it('a release is still read at its plain path', () =>
    assert.deepEqual(matchRoute('GET', '/v1/services/web/releases/3'), {kind: 'getRelease', service: 'web', release: 3}));
});
