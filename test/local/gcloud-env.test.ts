import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {exportLines, gcloudEnv} from '../../local/gcloud-env';

describe('gcloudEnv', () => {
  const targets = {
    project: 'dropdeploy-local',
    region: 'us-central1',
    proxyPort: 4000,
    tokenFile: '/x/.dropdeploy/gcloud/access-token',
    configDir: '/x/.dropdeploy/gcloud/config',
  };
  const want = {
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDBUILD: 'http://127.0.0.1:1001/',
    CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN: 'http://127.0.0.1:1002/',
    CLOUDSDK_API_ENDPOINT_OVERRIDES_MONITORING: 'http://127.0.0.1:1003/',
    CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING: 'http://127.0.0.1:1004/',
    CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE: 'http://127.0.0.1:1005/storage/v1/',
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: '/x/.dropdeploy/gcloud/access-token',
    CLOUDSDK_CORE_PROJECT: 'dropdeploy-local',
    CLOUDSDK_RUN_REGION: 'us-central1',
    CLOUDSDK_CONFIG: '/x/.dropdeploy/gcloud/config',
    CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
    CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
    CLOUDSDK_PROXY_TYPE: 'http',
    CLOUDSDK_PROXY_ADDRESS: '127.0.0.1',
    CLOUDSDK_PROXY_PORT: '4000',
  };
  const rows = [
    {
      name: 'URLs without a slash get one (gcloud refuses an override without); Storage at its JSON API path',
      urls: ['http://127.0.0.1:1001', 'http://127.0.0.1:1002', 'http://127.0.0.1:1003', 'http://127.0.0.1:1004', 'http://127.0.0.1:1005'],
    },
    {
      name: 'URLs with a slash keep one',
      urls: [
        'http://127.0.0.1:1001/',
        'http://127.0.0.1:1002/',
        'http://127.0.0.1:1003/',
        'http://127.0.0.1:1004/',
        'http://127.0.0.1:1005/',
      ],
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const [cloudBuild, run, monitoring, logging, storage] = row.urls;
      assert.deepEqual(gcloudEnv({...targets, cloudBuild, run, monitoring, logging, storage}), want);
    });
  }
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
