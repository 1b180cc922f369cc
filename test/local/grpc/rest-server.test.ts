import {after, before, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {CloudBuildEmulator} from '../../../local/cloud-build/emulator';
import {startRestServer, type ExtraRoutes, type RestServer} from '../../../local/grpc/rest-server';

const PROJECT = 'demo-project';
const BUILD = {steps: [{name: 'ubuntu', args: ['echo', 'hi']}], timeout: '60s'};

describe('the REST server of an emulator', () => {
  const emu = new CloudBuildEmulator({projectId: PROJECT});
  const mounted: string[] = [];
  // A route of another API on the same port, as Cloud Run v1 is mounted beside v2.
  const v1: ExtraRoutes = (req, res, body) => {
    if (!req.url?.startsWith('/apis/example.dev/v1/')) return Promise.resolve(false);
    mounted.push(`${req.method} ${req.url} ${body.toString()}`);
    res.writeHead(200, {'content-type': 'application/json'}).end('{"kind":"Example"}');
    return Promise.resolve(true);
  };
  let rest: RestServer;
  before(async () => {
    rest = await startRestServer(emu, {extraRoutes: [v1]});
  });
  after(async () => {
    await rest.close();
    await emu.stop();
  });

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(rest.url + path, {
      method,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      headers,
    });
    return {status: res.status, type: res.headers.get('content-type'), json: (await res.json()) as Record<string, unknown>};
  };

  it('serves the emulator without its gRPC server, and records each call as gRPC would', async () => {
    const created = await call('POST', `/v1/projects/${PROJECT}/builds`, BUILD);
    assert.equal(created.status, 200);
    assert.match(created.type!, /^application\/json/);
    const metadata = created.json.metadata as {'@type': string; build: {id: string; status: string}};
    assert.equal(metadata['@type'], 'type.googleapis.com/google.devtools.cloudbuild.v1.BuildOperationMetadata');
    assert.equal(metadata.build.status, 'QUEUED');
    assert.deepEqual(emu.callsTo('CreateBuild').at(-1)!.request, {
      projectId: PROJECT,
      build: {steps: BUILD.steps, timeout: {seconds: '60'}},
    });
    const op = await call('GET', `/v1/${created.json.name as string}`);
    assert.equal(op.json.name, created.json.name);
    assert.equal(op.json.done, undefined, 'done: false is a default, left out');
  });

  it('answers an injected fault as the google.rpc.Status JSON of its code', async () => {
    emu.injectFault({method: 'ListBuilds', code: 14});
    const got = await call('GET', `/v1/projects/${PROJECT}/builds`);
    assert.equal(got.status, 503);
    assert.deepEqual(got.json, {error: {code: 503, message: 'injected fault on ListBuilds (code 14)', status: 'UNAVAILABLE', details: []}});
    assert.equal(emu.callsTo('ListBuilds').at(-1)!.faulted, 14);
    assert.equal((await call('GET', `/v1/projects/${PROJECT}/builds`)).status, 200);
  });

  it('passes requests to the extra routes first, with the whole body', async () => {
    const got = await call('POST', '/apis/example.dev/v1/things', {a: 1});
    assert.deepEqual(got.json, {kind: 'Example'});
    assert.deepEqual(mounted, ['POST /apis/example.dev/v1/things {"a":1}']);
  });

  it('404 for a path no method has, 405 for a known path under another verb, 400 for bad JSON', async () => {
    const missing = await call('GET', '/v9/nothing');
    assert.equal(missing.status, 404);
    assert.equal((missing.json.error as {status: string}).status, 'NOT_FOUND');
    const verb = await call('PUT', `/v1/projects/${PROJECT}/builds`);
    assert.equal(verb.status, 405);
    const bad = await call('POST', `/v1/projects/${PROJECT}/builds`, '{"steps": [');
    assert.equal(bad.status, 400);
    assert.match((bad.json.error as {message: string}).message, /^Invalid JSON payload received/);
  });

  it('takes the verb from X-HTTP-Method-Override, as Google front ends do', async () => {
    const got = await call('POST', `/v1/projects/${PROJECT}/builds`, undefined, {'x-http-method-override': 'GET'});
    assert.equal(got.status, 200);
    assert.ok(Array.isArray(got.json.builds));
  });
});
