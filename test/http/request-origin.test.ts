/**
 * Which requests a browser may make: no change from another site's page (CSRF), and without
 * auth no request for a non-loopback name (DNS rebinding).
 */
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {requestOriginProblem} from '../../src/http/request-origin';

type Headers = Record<string, string>;

describe('requestOriginProblem', () => {
  const local = {host: '127.0.0.1:8080'};
  const rows: Array<{name: string; method: string; headers: Headers; loopbackOnly?: boolean; want: RegExp | undefined}> = [
    {name: 'curl, the CLI (no Origin, no Sec-Fetch-Site)', method: 'POST', headers: local, want: undefined},
    {
      name: 'the dashboard itself',
      method: 'POST',
      headers: {...local, 'sec-fetch-site': 'same-origin', origin: 'http://127.0.0.1:8080'},
      want: undefined,
    },
    {
      name: 'a page of another site: a form POST',
      method: 'POST',
      headers: {...local, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example'},
      want: /cross-site request forgery/,
    },
    {name: 'another origin of the same site', method: 'POST', headers: {...local, 'sec-fetch-site': 'same-site'}, want: /another origin/},
    {name: 'a typed address or bookmark (none)', method: 'POST', headers: {...local, 'sec-fetch-site': 'none'}, want: undefined},
    {
      name: 'PATCH from another site',
      method: 'PATCH',
      headers: {...local, 'sec-fetch-site': 'cross-site'},
      want: /PATCH from a page of another site/,
    },
    {name: 'DELETE from another site', method: 'DELETE', headers: {...local, 'sec-fetch-site': 'cross-site'}, want: /DELETE/},
    {
      name: 'a GET from another site reads nothing it can see (no CORS): let through',
      method: 'GET',
      headers: {...local, 'sec-fetch-site': 'cross-site'},
      want: undefined,
    },
    {name: 'an old browser: Origin matches Host', method: 'POST', headers: {...local, origin: 'http://127.0.0.1:8080'}, want: undefined},
    {
      name: 'an old browser: Origin of another site',
      method: 'POST',
      headers: {...local, origin: 'https://evil.example'},
      want: /a page of https:\/\/evil\.example/,
    },
    {name: 'an old browser: Origin null (a sandboxed page)', method: 'POST', headers: {...local, origin: 'null'}, want: /origin "null"/},
    {
      name: 'behind a proxy: Origin matches X-Forwarded-Host',
      method: 'POST',
      headers: {host: 'dd-api-xyz.a.run.app', 'x-forwarded-host': 'localhost:8080', origin: 'http://localhost:8080'},
      want: undefined,
    },
    // gcloud run services proxy listens on localhost, forwards any Host as the service's own and
    // adds the operator's token: the browser's own name is seen only in Origin.
    {
      name: 'through gcloud run services proxy: the dashboard at localhost',
      method: 'POST',
      headers: {host: 'dd-api-xyz.a.run.app', 'sec-fetch-site': 'same-origin', origin: 'http://localhost:8080'},
      want: undefined,
    },
    {
      name: 'through gcloud run services proxy, an old browser (no Sec-Fetch-Site): the dashboard at localhost',
      method: 'POST',
      headers: {host: 'dd-api-xyz.a.run.app', origin: 'http://localhost:8080'},
      want: undefined,
    },
    {
      name: 'through gcloud run services proxy: a rebound DNS name is same-origin to itself, and refused',
      method: 'POST',
      headers: {host: 'dd-api-xyz.a.run.app', 'sec-fetch-site': 'same-origin', origin: 'http://evil.example:8080'},
      want: /evil\.example/,
    },
    {
      name: "a same-origin page on the API's own name",
      method: 'POST',
      headers: {host: 'deploys.example.com', 'sec-fetch-site': 'same-origin', origin: 'https://deploys.example.com'},
      want: undefined,
    },
    {name: 'no auth: 127.0.0.1', method: 'GET', headers: local, loopbackOnly: true, want: undefined},
    {name: 'no auth: localhost', method: 'GET', headers: {host: 'localhost:3000'}, loopbackOnly: true, want: undefined},
    {name: 'no auth: [::1]', method: 'GET', headers: {host: '[::1]:3000'}, loopbackOnly: true, want: undefined},
    {
      name: 'no auth: a rebound DNS name',
      method: 'GET',
      headers: {host: 'evil.example:8080'},
      loopbackOnly: true,
      want: /loopback host only .*"evil\.example:8080"/,
    },
    {
      name: 'no auth: localhost.evil.example',
      method: 'GET',
      headers: {host: 'localhost.evil.example'},
      loopbackOnly: true,
      want: /loopback/,
    },
    {name: 'no auth: no Host at all', method: 'GET', headers: {}, loopbackOnly: true, want: /loopback/},
    {name: 'with auth: any Host', method: 'GET', headers: {host: 'dd-api-xyz.a.run.app'}, want: undefined},
  ];
  for (const r of rows)
    it(r.name, () => {
      const got = requestOriginProblem(r.method, r.headers, {loopbackOnly: r.loopbackOnly ?? false});
      if (r.want === undefined) assert.equal(got, undefined);
      else assert.match(got ?? '(let through)', r.want);
    });
});
