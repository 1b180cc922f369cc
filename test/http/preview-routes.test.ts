import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {ApiError} from '../../src/http/errors';
import {matchRoute} from '../../src/http/routes';

describe('preview routes', () => {
  const rows = [
    {method: 'GET', path: '/v1/services/web/previews', want: {kind: 'listPreviews', service: 'web'}},
    {method: 'GET', path: '/v1/services/web/previews/', want: {kind: 'listPreviews', service: 'web'}},
    {method: 'DELETE', path: '/v1/services/web/previews/pr-7', want: {kind: 'deletePreview', service: 'web', preview: 'pr-7'}},
  ];
  for (const r of rows) it(`${r.method} ${r.path}`, () => assert.deepEqual(matchRoute(r.method, r.path), r.want));

  const refusals: Array<{method: string; path: string; status: number; message: RegExp}> = [
    {method: 'POST', path: '/v1/services/web/previews', status: 405, message: /use GET/},
    {method: 'GET', path: '/v1/services/web/previews/pr-7', status: 405, message: /use DELETE/},
    {method: 'DELETE', path: '/v1/services/web/previews/rollout-v3', status: 400, message: /reserved/},
    {method: 'DELETE', path: '/v1/services/web/previews/PR', status: 400, message: /uppercase/},
    {method: 'GET', path: '/v1/services/Web/previews', status: 400, message: /uppercase/},
  ];
  for (const r of refusals)
    it(`${r.method} ${r.path} → ${r.status}`, () =>
      assert.throws(
        () => matchRoute(r.method, r.path),
        (e: unknown) => e instanceof ApiError && e.httpStatus === r.status && r.message.test(e.message),
      ));
});
