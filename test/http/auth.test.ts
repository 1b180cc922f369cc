import assert from 'node:assert/strict';
import {after, before, describe, it} from 'node:test';
import {authenticate, PLATFORM_VERIFIED_SIGNATURE} from '../../src/http/auth';
import {ApiError} from '../../src/http/errors';
import {startTokenIssuer, type TokenIssuer} from './id-tokens';

describe('authenticate (Google ID tokens, verified against a local signing key)', () => {
  let issuer: TokenIssuer;
  before(async () => {
    issuer = await startTokenIssuer();
  });
  after(async () => {
    await issuer.close();
  });
  const api = (over: object = {}) => ({
    auth: 'google-id-token' as const,
    audiences: ['https://api.example'],
    adminPrincipals: ['user:ops@example.com', 'ci@p.iam.gserviceaccount.com'],
    certsUrl: issuer.certsUrl,
    ...over,
  });
  const bearer = (t: string) => ({authorization: `Bearer ${t}`, host: 'api.example'});
  const refused = async (p: Promise<unknown>, status: number, message: RegExp) => {
    await assert.rejects(p, (e: unknown) => e instanceof ApiError && e.httpStatus === status && message.test(e.message));
  };

  it('accepts an admin user and names the actor', async () => {
    assert.deepEqual(await authenticate(api(), bearer(issuer.token({aud: 'https://api.example', email: 'ops@example.com'})), new Date()), {
      actor: 'user:ops@example.com',
    });
  });
  it('accepts an admin service account given as a bare email', async () => {
    const c = await authenticate(
      api(),
      bearer(issuer.token({aud: 'https://api.example', email: 'ci@p.iam.gserviceaccount.com'})),
      new Date(),
    );
    assert.equal(c.actor, 'serviceAccount:ci@p.iam.gserviceaccount.com');
  });
  it('in mode google-id-token, no ADMIN_PRINCIPALS admits nobody (parseConfig refuses it; this fails closed too)', async () => {
    await refused(
      authenticate(api({adminPrincipals: []}), bearer(issuer.token({aud: 'https://api.example', email: 'dev@example.com'})), new Date()),
      403,
      /DROPDEPLOY_ADMIN_PRINCIPALS/,
    );
  });
  it('the Host header never sets the audience', async () => {
    const forHost = issuer.token({aud: 'https://dd-api-xyz.run.app', email: 'ops@example.com'});
    await refused(
      authenticate(api(), {authorization: `Bearer ${forHost}`, host: 'dd-api-xyz.run.app'}, new Date()),
      401,
      /another audience/,
    );
    await refused(
      authenticate(api({audiences: []}), {authorization: `Bearer ${forHost}`, host: 'dd-api-xyz.run.app'}, new Date()),
      401,
      /DROPDEPLOY_API_AUDIENCE/,
    );
  });
  it('admin principals match whatever the case of the email', async () => {
    assert.equal(
      (
        await authenticate(
          api({adminPrincipals: ['user:Ops@Example.COM']}),
          bearer(issuer.token({aud: 'https://api.example', email: 'ops@example.com'})),
          new Date(),
        )
      ).actor,
      'user:ops@example.com',
    );
    assert.equal(
      (await authenticate(api(), bearer(issuer.token({aud: 'https://api.example', email: 'CI@p.iam.gserviceaccount.com'})), new Date()))
        .actor,
      'serviceAccount:CI@p.iam.gserviceaccount.com',
    );
  });
  for (const [name, claim] of [
    ['absent', {email_verified: undefined}],
    ['false', {email_verified: false}],
    ['the string "true"', {email_verified: 'true'}],
  ] as const) {
    it(`email_verified ${name} → 401`, () =>
      refused(
        authenticate(api(), bearer(issuer.token({aud: 'https://api.example', email: 'ops@example.com', ...claim})), new Date()),
        401,
        /no verified email/,
      ));
  }
  it('no token → 401', () => refused(authenticate(api(), {host: 'api.example'}, new Date()), 401, /missing "Authorization: Bearer/));
  it('not a bearer token → 401', () => refused(authenticate(api(), {authorization: 'Basic abc'}, new Date()), 401, /missing/));
  /** A refusal with a fixed reason: none of the token's text in the message. */
  const refusedWithout = async (token: string, status: number, message: RegExp) => {
    await assert.rejects(authenticate(api(), bearer(token), new Date()), (e: unknown) => {
      assert.ok(e instanceof ApiError && e.httpStatus === status, String(e));
      assert.match(e.message, message);
      for (const part of token.split('.').filter((x) => x.length > 8))
        assert.ok(!e.message.includes(part), `the answer quotes the token: ${e.message}`);
      return true;
    });
  };
  it('another audience → 401', () =>
    refusedWithout(
      issuer.token({aud: 'https://other.example', email: 'ops@example.com'}),
      401,
      /^the ID token was minted for another audience/,
    ));
  it('expired → 401', () =>
    refusedWithout(
      issuer.token({aud: 'https://api.example', email: 'ops@example.com', exp: Math.floor(Date.now() / 1000) - 3600}),
      401,
      /^the ID token has expired/,
    ));
  it('another issuer → 401', () =>
    refusedWithout(
      issuer.token({aud: 'https://api.example', email: 'ops@example.com', iss: 'https://evil.example'}),
      401,
      /^the ID token was not issued by Google/,
    ));
  it('a forged signature → 401', async () => {
    const t = issuer.token({aud: 'https://api.example', email: 'ops@example.com'});
    await refusedWithout(
      t.slice(0, t.lastIndexOf('.') + 1) + Buffer.from('not the signature at all, really').toString('base64url'),
      401,
      /^the ID token's signature does not verify/,
    );
  });
  it('a signing key Google does not publish → 401', async () => {
    const [h, b, sig] = issuer.token({aud: 'https://api.example', email: 'ops@example.com'}).split('.');
    const other = Buffer.from(JSON.stringify({...JSON.parse(Buffer.from(h, 'base64url').toString()), kid: 'unknown-key-id'})).toString(
      'base64url',
    );
    await refusedWithout(`${other}.${b}.${sig}`, 401, /^the ID token's signature does not verify/);
  });
  it('a tampered payload → 401', async () => {
    const [h, , sig] = issuer.token({aud: 'https://api.example', email: 'dev@example.com'}).split('.');
    const body = Buffer.from(
      JSON.stringify({iss: 'https://accounts.google.com', aud: 'https://api.example', email: 'ops@example.com', exp: 9e9, iat: 1}),
    ).toString('base64url');
    await refusedWithout(`${h}.${body}.${sig}`, 401, /^the ID token's signature does not verify/);
  });
  for (const [name, token] of [
    ['two segments', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0'],
    ['garbage segments', 'not-json-at-all.still-not-json.signature-here'],
    ['four segments', 'aaaaaaaaaa.bbbbbbbbbb.cccccccccc.dddddddddd'],
  ] as const) {
    it(`a malformed token (${name}) → 401 without its text`, () =>
      refusedWithout(token, 401, /^the bearer token is not a well-formed JWT/));
  }
  it('unreachable signing certificates → 503 (retry), not 401', async () => {
    await assert.rejects(
      authenticate(
        api({certsUrl: 'http://127.0.0.1:9/certs'}),
        bearer(issuer.token({aud: 'https://api.example', email: 'ops@example.com'})),
        new Date(),
      ),
      (e: unknown) => e instanceof ApiError && e.httpStatus === 503 && /signing certificates/.test(e.message),
    );
  });
  it('a verified caller who is not an admin → 403', () =>
    refused(
      authenticate(api(), bearer(issuer.token({aud: 'https://api.example', email: 'intruder@example.com'})), new Date()),
      403,
      /user:intruder@example\.com may not call.*DROPDEPLOY_ADMIN_PRINCIPALS/,
    ));
  it('a token without email → 401', () =>
    refused(authenticate(api(), bearer(issuer.token({aud: 'https://api.example'})), new Date()), 401, /no verified email/));

  describe('tokens Cloud Run verified already (signature replaced by the platform)', () => {
    const stripped = (claims: Record<string, unknown>) => {
      const [h, b] = issuer.token(claims).split('.');
      return `${h}.${b}.${PLATFORM_VERIFIED_SIGNATURE}`;
    };
    const iam = () => api({auth: 'cloud-run-iam'});
    it('accepted in mode cloud-run-iam, whatever audience Cloud Run accepted (gcloud user tokens)', async () => {
      assert.equal(
        (await authenticate(iam(), bearer(stripped({aud: '32555940559.apps.googleusercontent.com', email: 'ops@example.com'})), new Date()))
          .actor,
        'user:ops@example.com',
      );
    });
    it('without ADMIN_PRINCIPALS, Cloud Run IAM alone decides who calls', async () => {
      assert.equal(
        (
          await authenticate(
            api({auth: 'cloud-run-iam', adminPrincipals: []}),
            bearer(stripped({aud: 'https://api.example', email: 'dev@example.com'})),
            new Date(),
          )
        ).actor,
        'user:dev@example.com',
      );
    });
    it('still needs email_verified === true', () =>
      refused(
        authenticate(
          iam(),
          bearer(stripped({aud: 'https://api.example', email: 'ops@example.com', email_verified: undefined})),
          new Date(),
        ),
        401,
        /no verified email/,
      ));
    it('a malformed one → 401 without its text', async () => {
      await assert.rejects(
        authenticate(iam(), bearer(`abcdefghijkl.mnopqrstuvwx.${PLATFORM_VERIFIED_SIGNATURE}`), new Date()),
        (e: unknown) =>
          e instanceof ApiError && e.httpStatus === 401 && /not a well-formed JWT/.test(e.message) && !e.message.includes('abcdefghijkl'),
      );
    });
    it('still checked for expiry and admin', async () => {
      await refused(
        authenticate(iam(), bearer(stripped({aud: 'https://api.example', email: 'ops@example.com', exp: 1})), new Date()),
        401,
        /expired/,
      );
      await refused(
        authenticate(iam(), bearer(stripped({aud: 'https://api.example', email: 'eve@example.com'})), new Date()),
        403,
        /may not call/,
      );
    });
    it('refused in mode google-id-token: nothing vouches for it there', async () => {
      await refused(
        authenticate(api(), bearer(stripped({aud: 'https://api.example', email: 'ops@example.com'})), new Date()),
        401,
        /set DROPDEPLOY_API_AUTH=cloud-run-iam/,
      );
    });
    it('a signed token is still verified in mode cloud-run-iam', async () => {
      const t = issuer.token({aud: 'https://api.example', email: 'ops@example.com'});
      await refused(authenticate(iam(), bearer(t.slice(0, t.lastIndexOf('.') + 1) + 'AAAA'), new Date()), 401, /signature does not verify/);
    });
  });

  it('auth none (the local stack) admits everyone as "local"', async () => {
    assert.deepEqual(await authenticate({auth: 'none', audiences: [], adminPrincipals: []}, {}, new Date()), {actor: 'local'});
  });
});
