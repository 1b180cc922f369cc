import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {exportLines, gcloudEnv} from '../../local/gcloud-env';

describe('gcloudEnv', () => {
  it('points each API at its REST URL with a trailing slash, Storage at its JSON API path', () => {
    const env = gcloudEnv({
      project: 'dropdeploy-local',
      cloudBuild: 'http://127.0.0.1:1001',
      run: 'http://127.0.0.1:1002/',
      monitoring: 'http://127.0.0.1:1003',
      logging: 'http://127.0.0.1:1004',
      storage: 'http://127.0.0.1:1005',
      tokenFile: '/x/.dropdeploy/gcloud-access-token',
    });
    assert.deepEqual(env, {
      CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD: 'http://127.0.0.1:1001/',
      CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN: 'http://127.0.0.1:1002/',
      CLOUDSDK_API_ENDPOINT_OVERRIDES_MONITORING: 'http://127.0.0.1:1003/',
      CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING: 'http://127.0.0.1:1004/',
      CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE: 'http://127.0.0.1:1005/storage/v1/',
      CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: '/x/.dropdeploy/gcloud-access-token',
      CLOUDSDK_CORE_PROJECT: 'dropdeploy-local',
    });
  });
});

describe('exportLines', () => {
  const cases: Array<{name: string; env: Record<string, string>; want: string[]}> = [
    {name: 'a URL as it is', env: {A: 'http://127.0.0.1:1/'}, want: ['export A=http://127.0.0.1:1/']},
    {name: 'a path with a space, quoted', env: {B: '/home/me/my repo/.dropdeploy/t'}, want: ["export B='/home/me/my repo/.dropdeploy/t'"]},
    {name: 'a single quote', env: {C: "it's"}, want: ["export C='it'\\''s'"]},
    {name: 'shell specials', env: {D: '$HOME;rm -rf `x`'}, want: ["export D='$HOME;rm -rf `x`'"]},
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(exportLines(c.env), c.want));
});
