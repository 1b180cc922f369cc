import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {classify, PermanentError, RetryableError} from '../src/errors';

describe('classify', () => {
  const grpc = (code: number) => Object.assign(new Error(`${code} boom`), {code});
  const cases: Array<{name: string; err: unknown; retryable: boolean; code: string}> = [
    {name: 'UNAVAILABLE', err: grpc(14), retryable: true, code: 'UNAVAILABLE'},
    {name: 'DEADLINE_EXCEEDED', err: grpc(4), retryable: true, code: 'DEADLINE_EXCEEDED'},
    {name: 'RESOURCE_EXHAUSTED', err: grpc(8), retryable: true, code: 'RESOURCE_EXHAUSTED'},
    {name: 'ABORTED', err: grpc(10), retryable: true, code: 'ABORTED'},
    {name: 'INVALID_ARGUMENT', err: grpc(3), retryable: false, code: 'INVALID_ARGUMENT'},
    {name: 'PERMISSION_DENIED', err: grpc(7), retryable: false, code: 'PERMISSION_DENIED'},
    {name: 'FAILED_PRECONDITION', err: grpc(9), retryable: false, code: 'FAILED_PRECONDITION'},
    {name: 'network error', err: Object.assign(new Error('connect ECONNREFUSED'), {code: 'ECONNREFUSED'}), retryable: true, code: 'UNAVAILABLE'},
    {name: 'unknown error', err: new Error('???'), retryable: true, code: 'UNKNOWN'},
    {name: 'a thrown string', err: 'oops', retryable: true, code: 'UNKNOWN'},
    {name: 'ours stays as it is', err: new PermanentError('x', 'NOT_MANAGED'), retryable: false, code: 'NOT_MANAGED'},
  ];
  for (const c of cases) {
    it(c.name, () => {
      const e = classify(c.err, 'Cloud Run GetService');
      assert.equal(e.retryable, c.retryable);
      assert.equal(e.code, c.code);
      assert.ok(e instanceof (c.retryable ? RetryableError : PermanentError) || c.name === 'ours stays as it is');
    });
  }
  it('says what failed', () => assert.match(classify(grpc(14), 'Cloud Run GetService').message, /^Cloud Run GetService failed with UNAVAILABLE: 14 boom/));
});
