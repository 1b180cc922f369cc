/**
 * Properties of the naming rules: any object name is classified without an exception, a
 * source's service is always a valid Cloud Run id taken literally from the name (never fixed
 * up), source keys are usable Firestore ids that never collide, and object metadata never
 * yields a function target that is not a JavaScript name.
 */
import assert from 'node:assert/strict';
import '../harness/seed'; // fast-check's seed: the run's, printed by the harness
import {describe, it} from 'node:test';
import fc from 'fast-check';
import {archiveExtension, classifyObject, functionSettings, serviceNameProblem, sourceKey} from '../../src/releases/naming';

const RUNS = 1000;
const SERVICE_RE = /^[a-z](?:[a-z0-9-]{0,47}[a-z0-9])?$/;
const TARGET_RE = /^[A-Za-z_$][\w$.]{0,127}$/;
/** Cloud Storage bucket names (as DROPDEPLOY_BUCKETS accepts them). */
const bucketName = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/);
/** Cloud Storage generations: int64 as a decimal string. */
const generation = fc.bigInt({min: 0n, max: 2n ** 63n - 1n}).map(String);

const validService = fc.stringMatching(SERVICE_RE);
/** A path segment: tricky constants, valid and almost-valid service names, any text. */
const segment = fc.oneof(
  fc.constantFrom(
    '',
    '.',
    '..',
    ' ',
    'a b',
    'Hello',
    'WEB',
    '-web',
    'web-',
    '9web',
    'web_1',
    'wéb',
    'a'.repeat(49),
    'a'.repeat(50),
    'hello',
    'x.zip',
    '.zip',
  ),
  validService,
  fc.stringMatching(/^[a-zA-Z0-9 ._-]{0,60}$/),
  fc.string(),
  fc.string({unit: 'binary'}),
  fc.string({unit: 'grapheme'}),
);
const extension = fc.constantFrom('.zip', '.ZIP', '.tar.gz', '.Tar.GZ', '.tgz', '.TGZ', '', '.gz', '.tar', '.txt', '.zip/', '.zip.bak');
/** Object names built from segments joined by '/', with or without an archive extension. */
const pathName = fc.tuple(fc.array(segment, {minLength: 1, maxLength: 5}), extension).map(([segs, ext]) => segs.join('/') + ext);
const anyName = fc.oneof(
  pathName,
  fc.string(),
  fc.string({unit: 'binary'}),
  fc.string({minLength: 900, maxLength: 1500}).map((s) => `web/${s}.zip`),
  fc.string({minLength: 40, maxLength: 80}).map((s) => `${s}.tgz`),
);
const prefix = fc.oneof(fc.constantFrom('', 'deploy/', 'a/b/', 'Deploy/', 'web/'), fc.string({maxLength: 6}));

describe('property: classifyObject', () => {
  it('classifies any name without throwing; a source names a valid service, literally; a rejection has a reason', () => {
    fc.assert(
      fc.property(anyName, prefix, fc.boolean(), (name, pre, prefixed) => {
        const objectName = prefixed ? pre + name : name;
        const got = classifyObject(objectName, pre);
        assert.ok(['source', 'ignored', 'rejected'].includes(got.kind), got.kind);
        if (got.kind !== 'source') {
          assert.ok(typeof got.reason === 'string' && got.reason.length > 0, 'reason');
          return;
        }
        assert.match(got.service, SERVICE_RE);
        assert.ok(objectName.startsWith(pre));
        const rest = objectName.slice(pre.length);
        const ext = archiveExtension(rest);
        assert.ok(ext, 'a source has an archive extension');
        const slash = rest.indexOf('/');
        // Never "fixed up": the first segment after the prefix, or the top-level file name without extension.
        const literal = slash >= 0 ? rest.slice(0, slash) : rest.slice(0, rest.length - ext.length);
        assert.equal(got.service, literal);
      }),
      {numRuns: RUNS * 2},
    );
  });

  it('<prefix><valid service>/<file><archive ext> is a source of exactly that service', () => {
    const file = fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9 ._/-]{0,40}$/);
    fc.assert(
      fc.property(
        fc.constantFrom('', 'deploy/', 'a/b/'),
        validService,
        file,
        fc.constantFrom('.zip', '.ZIP', '.tar.gz', '.tgz'),
        (pre, service, f, ext) => {
          assert.deepEqual(classifyObject(`${pre}${service}/${f}${ext}`, pre), {kind: 'source', service});
          assert.deepEqual(classifyObject(`${pre}${service}${ext}`, pre), {kind: 'source', service});
        },
      ),
      {numRuns: RUNS},
    );
  });

  it('an archive under an invalid service segment is rejected, never renamed', () => {
    const invalid = segment.filter((s) => !s.includes('/') && s.length > 0 && !SERVICE_RE.test(s));
    fc.assert(
      fc.property(invalid, (service) => {
        const got = classifyObject(`${service}/v1.zip`);
        assert.equal(got.kind, 'rejected', JSON.stringify(got));
      }),
      {numRuns: RUNS},
    );
  });
});

describe('property: serviceNameProblem', () => {
  it('never throws, and names a problem exactly when the name is not a Cloud Run service id', () => {
    fc.assert(
      fc.property(fc.oneof(segment, fc.string({minLength: 45, maxLength: 55}), fc.string({minLength: 1000, maxLength: 2000})), (name) => {
        const problem = serviceNameProblem(name);
        if (SERVICE_RE.test(name)) assert.equal(problem, undefined);
        else assert.ok(typeof problem === 'string' && problem.length > 0, `no problem named for ${JSON.stringify(name)}`);
      }),
      {numRuns: RUNS},
    );
  });
});

/** Object names Cloud Storage accepts: 1 to 1024 bytes of UTF-8 (no lone surrogates). */
const gcsObjectName = fc
  .oneof(
    fc.string({unit: 'binary', minLength: 1, maxLength: 60}),
    pathName.filter((s) => s.length > 0),
    fc.string({minLength: 1, maxLength: 300}),
  )
  .filter((s) => Buffer.byteLength(s) <= 1024 && !/[\uD800-\uDFFF]/.test(s.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, '')));

describe('property: sourceKey', () => {
  it('never throws on any names Cloud Storage can send; never contains "/"; is never "." or ".."', () => {
    fc.assert(
      fc.property(fc.oneof(bucketName, fc.string()), fc.oneof(gcsObjectName, fc.string()), fc.oneof(generation, fc.string()), (b, o, g) => {
        const key = sourceKey(b, o, g);
        assert.ok(!key.includes('/'), key);
        assert.ok(key !== '.' && key !== '..', key);
        assert.ok(key.length > 0);
      }),
      {numRuns: RUNS},
    );
  });

  it('is injective on (bucket, object, generation) triples', () => {
    const triple = fc.tuple(
      fc.oneof(fc.constantFrom('dd-sources', 'dd.sources'), bucketName),
      fc.oneof(fc.constantFrom('web/v1.zip', 'web/v1.zip#1', 'web%2Fv1.zip', 'web.v1.zip', 'web/v1%2Ezip'), gcsObjectName),
      fc.oneof(fc.constantFrom('1', '12', '0'), generation),
    );
    fc.assert(
      fc.property(fc.uniqueArray(triple, {minLength: 2, maxLength: 60, selector: (t) => t.join('\u0000')}), (triples) => {
        const byKey = new Map<string, string[]>();
        for (const t of triples) {
          const key = sourceKey(...t);
          assert.ok(!byKey.has(key), `${JSON.stringify(t)} and ${JSON.stringify(byKey.get(key))} share the key ${key}`);
          byKey.set(key, t);
        }
      }),
      {numRuns: RUNS / 2},
    );
  });

  // BUG (found by this property): sourceKey throws URIError("URI malformed") for an object name
  // with a lone UTF-16 surrogate. Shrunk counterexample: sourceKey("0aa", "web/\ud800.zip", "0").
  // Such a name reaches it from any event whose JSON body escapes one ("name": "web/\ud800.zip"):
  // the decoder, classifyObject and functionSettings accept it, FirestoreReleaseStore.claimSource
  // throws, classify() calls the URIError retryable (UNKNOWN), and the event is redelivered forever
  // instead of being rejected and acknowledged.
  it('never throws, even for an object name that is not well-formed UTF-16', () => {
    const loneSurrogate = fc.integer({min: 0xd800, max: 0xdfff}).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(
        bucketName,
        fc.tuple(fc.string(), loneSurrogate, fc.string()).map((p) => `web/${p.join('')}.zip`),
        generation,
        (b, o, g) => {
          let key: string;
          try {
            key = sourceKey(b, o, g);
          } catch (err) {
            assert.fail(`sourceKey(${JSON.stringify(b)}, ${JSON.stringify(o)}, ${JSON.stringify(g)}) threw ${String(err)}`);
          }
          assert.ok(!key.includes('/'));
        },
      ),
      {numRuns: 200},
    );
  });

  // BUG (found by this property): Firestore document ids are at most 1,500 bytes, but sourceKey
  // percent-encodes, so a valid object name (≤ 1,024 bytes) can triple in size. Shrunk
  // counterexample: sourceKey("a_a", "web/" + " ".repeat(493) + ".zip", "0"): a 501-byte name, a
  // 1,501-byte key. claimSource then fails (the Firestore emulator: INVALID_ARGUMENT "The key path
  // element name is longer than 1500 bytes"), which is permanent: the upload is acknowledged with
  // no release and no status event.
  it('fits a Firestore document id (at most 1,500 bytes) for any valid bucket and object name', () => {
    // One character repeated, so that shrinking (to the shortest failing length) stays fast.
    const longName = fc
      .tuple(fc.constantFrom(' ', '/', '.', '#', '%', 'é', 'a'), fc.integer({min: 1, max: 1000}), fc.constantFrom('.zip', '.tar.gz'))
      .map(([c, n, ext]) => `web/${c.repeat(n)}${ext}`)
      .filter((s) => Buffer.byteLength(s) <= 1024);
    fc.assert(
      fc.property(bucketName, fc.oneof(gcsObjectName, longName), generation, (b, o, g) => {
        const key = sourceKey(b, o, g);
        assert.ok(
          Buffer.byteLength(key) <= 1500,
          `sourceKey(${JSON.stringify(b)}, <${Buffer.byteLength(o)} bytes>, ${g}) is ${Buffer.byteLength(key)} bytes`,
        );
      }),
      {numRuns: 300},
    );
  });
});

describe('property: functionSettings', () => {
  const value = fc.oneof(
    fc.constantFrom(
      '',
      ' ',
      'helloHttp',
      ' helloHttp ',
      'a.b',
      '$x',
      '_y',
      '1abc',
      'a-b',
      'hello world',
      'héllo',
      'x'.repeat(128),
      'x'.repeat(129),
      'http',
      'HTTP',
      'event',
      'cloudevent',
      'grpc',
      '\thttp\n',
    ),
    fc.stringMatching(/^[A-Za-z_$][\w$.]{0,130}$/),
    fc.string(),
    fc.string({unit: 'binary'}),
  );
  const metadata = fc.oneof(
    fc.record({'function-target': value, 'function-signature-type': value}, {requiredKeys: []}),
    fc.dictionary(
      fc.oneof(
        fc.constantFrom('function-target', 'function-signature-type', 'Function-Target', '__proto__', 'constructor', 'toString'),
        fc.string(),
      ),
      value,
    ),
  );

  it('never throws; ok only with a JavaScript-name target (or none) and a known signature type; otherwise a reason', () => {
    fc.assert(
      fc.property(metadata, (m) => {
        const got = functionSettings(m);
        if (!got.ok) {
          assert.ok(typeof got.reason === 'string' && got.reason.length > 0, 'reason');
          return;
        }
        if (got.functionTarget === undefined) {
          assert.equal(got.signatureType, undefined);
          return;
        }
        assert.match(got.functionTarget, TARGET_RE);
        assert.ok(['http', 'event', 'cloudevent'].includes(got.signatureType ?? ''), String(got.signatureType));
      }),
      {numRuns: RUNS},
    );
  });

  it('a signature type without a target is refused', () => {
    fc.assert(
      fc.property(
        value.filter((v) => v.trim() !== ''),
        (sig) => {
          assert.equal(functionSettings({'function-signature-type': sig}).ok, false);
        },
      ),
      {numRuns: RUNS / 5},
    );
  });
});
