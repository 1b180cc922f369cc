import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {REFUSALS, tokenRefusal} from '../../src/http/id-token';

// The messages google-auth-library 10 throws from verifySignedJwtWithCertsAsync; several quote
// the whole token or its payload, which is why they never reach an answer or a log line.
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJlbWFpbCI6Im9wc0BleGFtcGxlLmNvbSJ9.c2lnbmF0dXJl';

describe('tokenRefusal (google-auth-library errors → fixed reasons)', () => {
  const table: Array<{name: string; input: unknown; want: keyof typeof REFUSALS}> = [
    {name: 'wrong number of segments', input: new Error(`Wrong number of segments in token: ${JWT}`), want: 'malformed'},
    {
      name: 'unparsable envelope',
      input: new Error(`Can't parse token envelope: eyJhbGciOiJSUzI1NiJ9': Unexpected token`),
      want: 'malformed',
    },
    {name: 'unparsable payload', input: new Error("Can't parse token payload 'eyJhbGciOiJSUzI1NiJ9"), want: 'malformed'},
    {name: 'no iat', input: new Error('No issue time in token: {"email":"ops@example.com"}'), want: 'malformed'},
    {name: 'no exp', input: new Error('No expiration time in token: {}'), want: 'malformed'},
    {name: 'iat not a number', input: new Error('iat field using invalid format'), want: 'malformed'},
    {name: 'exp not a number', input: new Error('exp field using invalid format'), want: 'malformed'},
    {name: 'unknown signing key', input: new Error('No pem found for envelope: {"alg":"RS256","kid":"x"}'), want: 'badSignature'},
    {name: 'bad signature', input: new Error(`Invalid token signature: ${JWT}`), want: 'badSignature'},
    {name: 'too late', input: new Error('Token used too late, 1700000000 > 1690000000: {"email":"ops@example.com"}'), want: 'expired'},
    {name: 'too early', input: new Error('Token used too early, 1 < 2: {}'), want: 'notYetValid'},
    {name: 'lifetime too long', input: new Error('Expiration time too far in future: {}'), want: 'notYetValid'},
    {
      name: 'issuer',
      input: new Error('Invalid issuer, expected one of [accounts.google.com], but got https://evil.example'),
      want: 'wrongIssuer',
    },
    {name: 'audience', input: new Error('Wrong recipient, payload audience != requiredAudience'), want: 'wrongAudience'},
    {
      name: 'anything else (a crypto error on a mangled signature)',
      input: new TypeError('ES256 signature must be 64 bytes'),
      want: 'unverifiable',
    },
    {name: 'not even an Error', input: 'boom', want: 'unverifiable'},
  ];
  for (const c of table) {
    it(c.name, () => {
      const r = tokenRefusal(c.input);
      assert.equal(r, c.want);
      assert.ok(!REFUSALS[r].includes('eyJ'), 'a fixed text');
    });
  }
  it('every reason says what to do', () => {
    for (const [reason, text] of Object.entries(REFUSALS)) assert.match(text, /;/, `${reason}: ${text}`);
  });
});
