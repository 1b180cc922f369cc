import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {PermanentError, RetryableError} from '../../src/errors';
import {classify, grpcCode, Status} from '../../src/google/grpc-errors';

const grpc = (code: number) => Object.assign(new Error(`${code} boom`), {code});

describe('classify (gRPC errors of the client libraries)', () => {
  const cases: Array<{name: string; err: unknown; retryable: boolean; code: string}> = [
    {name: 'UNAVAILABLE', err: grpc(Status.UNAVAILABLE), retryable: true, code: 'UNAVAILABLE'},
    {name: 'DEADLINE_EXCEEDED', err: grpc(Status.DEADLINE_EXCEEDED), retryable: true, code: 'DEADLINE_EXCEEDED'},
    {name: 'RESOURCE_EXHAUSTED', err: grpc(Status.RESOURCE_EXHAUSTED), retryable: true, code: 'RESOURCE_EXHAUSTED'},
    {name: 'ABORTED', err: grpc(Status.ABORTED), retryable: true, code: 'ABORTED'},
    {name: 'INTERNAL', err: grpc(Status.INTERNAL), retryable: true, code: 'INTERNAL'},
    {name: 'INVALID_ARGUMENT', err: grpc(Status.INVALID_ARGUMENT), retryable: false, code: 'INVALID_ARGUMENT'},
    {name: 'PERMISSION_DENIED', err: grpc(Status.PERMISSION_DENIED), retryable: false, code: 'PERMISSION_DENIED'},
    {name: 'FAILED_PRECONDITION', err: grpc(Status.FAILED_PRECONDITION), retryable: false, code: 'FAILED_PRECONDITION'},
    {name: 'NOT_FOUND', err: grpc(Status.NOT_FOUND), retryable: false, code: 'NOT_FOUND'},
    {name: 'an HTTP status is not a gRPC code', err: grpc(404), retryable: true, code: 'UNKNOWN'},
    {
      name: 'network error',
      err: Object.assign(new Error('connect ECONNREFUSED'), {code: 'ECONNREFUSED'}),
      retryable: true,
      code: 'UNAVAILABLE',
    },
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
  it('says what failed', () =>
    assert.match(
      classify(grpc(Status.UNAVAILABLE), 'Cloud Run GetService').message,
      /^Cloud Run GetService failed with UNAVAILABLE: 14 boom/,
    ));
  it('knows every google.rpc.Code by its name, and nothing else', () => {
    for (let code = 0; code <= 16; code++) assert.equal(grpcCode(grpc(code)), code);
    for (const code of [-1, 17, 404, 1.5]) assert.equal(grpcCode(grpc(code)), undefined);
    assert.equal(grpcCode({code: 'ECONNRESET'}), undefined);
  });
});
