/**
 * The API with Google ID-token auth on: callers are verified (against a local signing key),
 * checked against DROPDEPLOY_ADMIN_PRINCIPALS, and recorded as the release's actor.
 */
import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {startTokenIssuer, type TokenIssuer} from '../http/id-tokens';
import {Stack} from './stack';
import type {ApiErrorBody, ApiRelease, ReleasePage} from '../json';

describe('HTTP API with auth', {timeout: 60_000}, () => {
  let stack: Stack;
  let issuer: TokenIssuer;
  before(async () => {
    issuer = await startTokenIssuer();
    stack = await Stack.start({
      env: {
        DROPDEPLOY_API_AUTH: 'google-id-token',
        DROPDEPLOY_ID_TOKEN_CERTS_URL: issuer.certsUrl,
        DROPDEPLOY_API_AUDIENCE: 'https://dd-api.example',
        DROPDEPLOY_ADMIN_PRINCIPALS: 'user:ops@example.com',
      },
    });
    assert.equal(await stack.upload('svc/v1.zip', '1'), 204);
    await stack.build.setStatus(stack.buildIdOf('svc', 1), 'SUCCESS', {digest: 'sha256:' + 'a'.repeat(64)});
    await stack.waitFor('v1 deployed', () => stack.statesOf('svc', 1).includes('deployed'));
  });
  after(async () => {
    await stack?.stop();
    await issuer?.close();
  });
  const as = (email: string) => ({authorization: `Bearer ${issuer.token({aud: 'https://dd-api.example', email})}`});

  it('unauthenticated → 401, unauthorized → 403, nothing started', async () => {
    const none = await stack.api<ApiErrorBody>('POST', '/v1/services/svc:rollback', {release: 1});
    assert.equal(none.status, 401);
    assert.equal(none.json.error.status, 'UNAUTHENTICATED');
    const other = await stack.api<ApiErrorBody>('POST', '/v1/services/svc:rollback', {release: 1}, as('eve@example.com'));
    assert.equal(other.status, 403);
    assert.equal(other.json.error.status, 'PERMISSION_DENIED');
    assert.equal((await stack.api('GET', '/v1/services', undefined, as('eve@example.com'))).status, 403);
    const list = await stack.api<ReleasePage>('GET', '/v1/services/svc/releases', undefined, as('ops@example.com'));
    assert.deepEqual(
      list.json.releases.map((r) => r.release),
      [1],
    );
  });

  it('a refused token: a fixed reason, none of its text in the answer or any log line', async () => {
    const good = issuer.token({aud: 'https://dd-api.example', email: 'ops@example.com'});
    const forged = good.slice(0, good.lastIndexOf('.') + 1) + Buffer.from('a signature nobody made, long enough').toString('base64url');
    const expired = issuer.token({aud: 'https://dd-api.example', email: 'ops@example.com', exp: Math.floor(Date.now() / 1000) - 3600});
    for (const [token, reason] of [
      [forged, /signature does not verify/],
      [expired, /has expired/],
      ['garbage.' + 'x'.repeat(40), /not a well-formed JWT/],
    ] as const) {
      const r = await stack.api<ApiErrorBody>('GET', '/v1/services', undefined, {authorization: `Bearer ${token}`});
      assert.equal(r.status, 401);
      assert.match(r.json.error.message, reason);
      const parts = token.split('.').filter((p) => p.length > 8);
      for (const text of [JSON.stringify(r.json), ...stack.logs]) {
        for (const part of parts) assert.ok(!text.includes(part), `token text in ${text.slice(0, 300)}`);
      }
    }
  });

  it('the rollout policy (of a service with no release yet): the same checks, the caller recorded', async () => {
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', {strategy: 'canary'}],
    ] as const) {
      assert.equal((await stack.api(method, '/v1/services/gated/policy', body)).status, 401, `${method} unauthenticated`);
      assert.equal(
        (await stack.api(method, '/v1/services/gated/policy', body, as('eve@example.com'))).status,
        403,
        `${method} unauthorized`,
      );
    }
    const r = await stack.api<{updatedBy: string}>('PATCH', '/v1/services/gated/policy', {strategy: 'canary'}, as('ops@example.com'));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.updatedBy, 'user:ops@example.com');
  });

  it("an admin's rollback records the caller as actor", async () => {
    const r = await stack.api<ApiRelease>('POST', '/v1/services/svc:rollback', {release: 1}, as('ops@example.com'));
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.equal(r.json.actor, 'user:ops@example.com');
    await stack.waitFor('rollback event', () =>
      stack.events.find((e) => e.subject === 'services/svc/releases/2' && e.data.state === 'deployed'),
    );
    const ev = stack.events.find((e) => e.subject === 'services/svc/releases/2' && e.data.state === 'deployed')!;
    assert.equal(ev.data.actor, 'user:ops@example.com');
  });
});
