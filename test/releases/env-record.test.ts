import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {describeEnvChange, envChangeRecord, looksSecret, resolveEnvChange} from '../../src/releases/env-record';

describe('looksSecret: which values stay out of the release history', () => {
  const rows: Array<{name: string; value?: string; want: boolean}> = [
    {name: 'GREETING', value: 'hello', want: false},
    {name: 'NODE_ENV', value: 'production', want: false},
    {name: 'API_URL', value: 'https://api.example.com/v1', want: false},
    {name: 'LOG_LEVEL', want: false},
    {name: 'API_KEY', want: true},
    {name: 'api_key', want: true},
    {name: 'STRIPE_SECRET', want: true},
    {name: 'GITHUB_TOKEN', want: true},
    {name: 'DB_PASSWORD', want: true},
    {name: 'DB_PASSWD', want: true},
    {name: 'DB_PASS', want: true},
    {name: 'PGPASSPHRASE', want: true},
    {name: 'GOOGLE_APPLICATION_CREDENTIALS', want: true},
    {name: 'PRIVATE_KEY_PEM', want: true},
    {name: 'BASIC_AUTH', want: true},
    {name: 'TLS_CERT', want: true},
    {name: 'WEBHOOK_SIGNATURE', want: true},
    {name: 'PASSWORD_SALT', want: true},
    {name: 'SESSION_COOKIE', want: true},
    {name: 'SENTRY_DSN', want: true},
    {name: 'DB_CONNECTION_STRING', want: true},
    // Broad on purpose: a harmless value left out costs little.
    {name: 'MONKEY_COUNT', value: '3', want: true},
    {name: 'DATABASE_URL', value: 'postgres://app:s3cr3t@db:5432/app', want: true},
    {name: 'REDIS_URL', value: 'redis://:pw@cache:6379', want: true},
    {name: 'DATABASE_URL', value: 'postgres://db:5432/app', want: false},
    {name: 'SERVICE_URL', value: 'https://user@host/path', want: false},
    // Names a pattern of parts misses, caught by the name's own conventions or the value's shape.
    {name: 'SLACK_WEBHOOK_URL', value: 'https://example.com/x', want: true},
    {name: 'STRIPE_SK', value: 'x', want: true},
    {name: 'GITHUB_PAT', value: 'x', want: true},
    {name: 'PAYMENTS', value: 'sk_live_51Habcdef', want: true},
    {name: 'OPENAI', value: 'sk-proj-abcdefghijklmnopqrstuv', want: true},
    {name: 'GH', value: 'ghp_abcdefghijklmnopqrstuvwxyz0123', want: true},
    {name: 'GH', value: 'github_pat_11ABCDEFG', want: true},
    {name: 'SLACK', value: 'xoxb-123-456-abc', want: true},
    {name: 'NOTIFY_URL', value: 'https://hooks.slack.com/services/T000/B000/XXXX', want: true},
    {name: 'AWS_ID', value: 'AKIAIOSFODNN7EXAMPLE', want: true},
    {name: 'MAPS', value: 'AIzaSyA-abcdefghijklmnopqrstuvwxyz12345', want: true},
    {name: 'TLS', value: '-----BEGIN RSA PRIVATE KEY-----\nMII…', want: true},
    {name: 'DATABASE_URL', value: 'postgres://db:5432/app?sslmode=require&password=x', want: true},
    {name: 'FEED_URL', value: 'https://storage.example.com/f?X-Goog-Signature=abc&sig=def', want: true},
    {name: 'FEED_URL', value: 'https://storage.example.com/f?format=json', want: false},
    {name: 'SKU_PREFIX', value: 'AB', want: false},
    {name: 'PATH_PREFIX', value: '/api', want: false},
  ];
  for (const r of rows) {
    it(`${r.name}${r.value !== undefined ? `=${r.value}` : ''} → ${r.want ? 'secret' : 'kept'}`, () =>
      assert.equal(looksSecret(r.name, r.value), r.want));
  }
});

describe('envChangeRecord', () => {
  it('a Secret Manager reference replaced by a plain value is recorded redacted, whatever its name', () => {
    assert.deepEqual(envChangeRecord({set: {DB: 'plain-now', NAME: 'a'}, unset: []}, ['DB']), {
      set: [
        {name: 'DB', redacted: true},
        {name: 'NAME', value: 'a'},
      ],
      unset: [],
    });
  });
  it('keeps names, values of harmless names, and never a secret-looking value', () => {
    const rec = envChangeRecord({set: {GREETING: 'hi', API_KEY: 'sk-live-123', DATABASE_URL: 'mysql://u:p@h/db'}, unset: ['OLD']});
    assert.deepEqual(rec, {
      set: [
        {name: 'GREETING', value: 'hi'},
        {name: 'API_KEY', redacted: true},
        {name: 'DATABASE_URL', redacted: true},
      ],
      unset: ['OLD'],
    });
    assert.ok(!JSON.stringify(rec).includes('sk-live-123') && !JSON.stringify(rec).includes('u:p@'));
  });
});

describe('resolveEnvChange', () => {
  const record = {
    set: [
      {name: 'GREETING', value: 'hi'},
      {name: 'API_KEY', redacted: true as const},
    ],
    unset: ['OLD'],
  };
  const rows: Array<{name: string; values: Record<string, string>; applied: boolean; want: unknown}> = [
    {
      name: 'the request brought the redacted values',
      values: {GREETING: 'hi', API_KEY: 'k'},
      applied: false,
      want: {ok: true, change: {set: {GREETING: 'hi', API_KEY: 'k'}, unset: ['OLD']}},
    },
    {name: 'resumed without them, not applied yet: lost', values: {}, applied: false, want: {ok: false, missing: ['API_KEY']}},
    {
      name: 'resumed without them, already live: left as they are',
      values: {},
      applied: true,
      want: {ok: true, change: {set: {GREETING: 'hi'}, unset: ['OLD']}},
    },
  ];
  for (const r of rows) {
    it(r.name, () => assert.deepEqual(JSON.parse(JSON.stringify(resolveEnvChange(record, r.values, r.applied))), r.want));
  }
  it('a record with no redacted value needs no values', () => {
    const got = resolveEnvChange({set: [{name: 'A', value: '1'}], unset: []}, {}, false);
    assert.ok(got.ok);
  });
});

describe('describeEnvChange', () => {
  it('names only', () => {
    assert.equal(
      describeEnvChange({
        set: [
          {name: 'A', value: 'x'},
          {name: 'B_KEY', redacted: true},
        ],
        unset: ['C'],
      }),
      'set A, B_KEY; unset C',
    );
    assert.equal(describeEnvChange({set: [], unset: ['C']}), 'unset C');
  });
});
