/**
 * The codec warm-up's samples are real messages for the official clients' own stubs: each
 * serializes, and a response comes back with the fields the controller reads (a misnamed field
 * would be dropped by the codec, and the warm-up would warm less than it says). No request is
 * made: the stubs point at a port nothing listens on.
 */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {CloudBuildClient} from '@google-cloud/cloudbuild';
import {ServicesClient} from '@google-cloud/run';
import {grpc} from 'google-gax';
import {parseConfig} from '../../src/config';
import {cloudBuildSamples, cloudRunSamples, warmCodecs, type CodecSample} from '../../src/google/warm-codecs';
import {ENV} from '../controller/fakes';

// The clients look for a metadata server to learn the project, which tests never have.
process.env.METADATA_SERVER_DETECTION ??= 'none';
const config = parseConfig(ENV);
const options = {projectId: 'fake-project', apiEndpoint: '127.0.0.1', port: 9, sslCreds: grpc.credentials.createInsecure()};

type Codecs = Record<
  string,
  {
    requestSerialize(v: object): Buffer;
    requestDeserialize(b: Buffer): unknown;
    responseSerialize(v: object): Buffer;
    responseDeserialize(b: Buffer): unknown;
  }
>;

/** The value at a dotted path (array indexes too) of a decoded message. */
const at = (v: unknown, path: string): unknown =>
  path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], v);

async function codecsOf(stub: Promise<unknown> | undefined): Promise<Codecs> {
  return ((await stub) as {constructor: {service: Codecs}}).constructor.service;
}

function roundTrips(codecs: Codecs, samples: CodecSample[]): Record<string, {request?: unknown; response?: unknown}> {
  const out: Record<string, {request?: unknown; response?: unknown}> = {};
  for (const s of samples) {
    const m = codecs[s.method];
    assert.ok(m, `the stub has no method ${s.method}`);
    out[s.method] = {
      request: s.request && m.requestDeserialize(m.requestSerialize(s.request)),
      response: s.response && m.responseDeserialize(m.responseSerialize(s.response)),
    };
  }
  return out;
}

describe('warmCodecs', () => {
  it("Cloud Build: CreateBuild carries the build's source, steps and images; GetBuild's answer its status and pushed image", async () => {
    const client = new CloudBuildClient(options);
    try {
      await client.initialize();
      const samples = cloudBuildSamples(config);
      await warmCodecs(client.cloudBuildStub, samples);
      const got = roundTrips(await codecsOf(client.cloudBuildStub), samples);
      assert.equal(at(got, 'CreateBuild.request.build.source.storageSource.object'), 'warm-up/source.tar.gz');
      assert.match(String(at(got, 'CreateBuild.request.build.images.0')), /warm-up/);
      assert.ok((at(got, 'CreateBuild.request.build.steps.0.env') as string[]).includes('GOOGLE_FUNCTION_TARGET=warmUp'));
      assert.equal(at(got, 'GetBuild.response.status'), 'SUCCESS');
      assert.match(String(at(got, 'GetBuild.response.results.images.0.digest')), /^sha256:0{64}$/);
    } finally {
      await client.close();
    }
  });

  it("Cloud Run: CreateService carries the template's image and labels; GetService's answer the URL, conditions and traffic", async () => {
    const client = new ServicesClient(options);
    try {
      await client.initialize();
      const samples = cloudRunSamples(config);
      await warmCodecs(client.servicesStub, samples);
      const got = roundTrips(await codecsOf(client.servicesStub), samples);
      assert.equal(at(got, 'CreateService.request.service.template.containers.0.image'), 'warm-up');
      assert.ok(Object.keys(at(got, 'CreateService.request.service.labels') as object).length > 0);
      assert.equal(at(got, 'GetService.response.uri'), 'https://warm-up.a.run.app');
      assert.equal(at(got, 'GetService.response.terminalCondition.state'), 'CONDITION_SUCCEEDED');
      assert.equal(at(got, 'GetService.response.trafficStatuses.0.percent'), 100);
      assert.equal(at(got, 'UpdateService.request.service.etag'), 'warm-up');
    } finally {
      await client.close();
    }
  });

  it('leaves a stub of another shape alone, and one that cannot be made to its first request', async () => {
    await warmCodecs(Promise.resolve({}), cloudBuildSamples(config));
    await warmCodecs(undefined, cloudBuildSamples(config));
    await warmCodecs(Promise.reject(new Error('no stub')), cloudBuildSamples(config));
    const calls: string[] = [];
    class Stub {
      static service = {
        CreateBuild: {
          requestSerialize: () => {
            calls.push('CreateBuild');
            throw new Error('a bad sample');
          },
        },
        GetBuild: {requestSerialize: () => calls.push('GetBuild') && Buffer.alloc(0)},
      };
    }
    await warmCodecs(Promise.resolve(new Stub()), cloudBuildSamples(config));
    assert.deepEqual(calls, ['CreateBuild', 'GetBuild'], 'one failing sample does not stop the others');
  });
});
