import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {asDropdeployError, PermanentError, RetryableError} from '../src/errors';

describe('asDropdeployError (errors without a gRPC status)', () => {
  const cases: Array<{name: string; err: unknown; retryable: boolean; code: string}> = [
    {
      name: 'network error',
      err: Object.assign(new Error('connect ECONNREFUSED'), {code: 'ECONNREFUSED'}),
      retryable: true,
      code: 'UNAVAILABLE',
    },
    {name: 'unknown error', err: new Error('???'), retryable: true, code: 'UNKNOWN'},
    {name: 'a thrown string', err: 'oops', retryable: true, code: 'UNKNOWN'},
    {name: 'ours stays as it is', err: new PermanentError('x', 'NOT_MANAGED'), retryable: false, code: 'NOT_MANAGED'},
  ];
  for (const c of cases) {
    it(c.name, () => {
      const e = asDropdeployError(c.err, 'handling the event');
      assert.equal(e.retryable, c.retryable);
      assert.equal(e.code, c.code);
      assert.ok(e instanceof (c.retryable ? RetryableError : PermanentError));
    });
  }
  it('says what failed', () =>
    assert.match(asDropdeployError(new Error('boom'), 'handling the event').message, /^handling the event failed: boom/));
});
