import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {gcloudEnv} from '../../local/gcloud-cli-env';

describe('the gcloud variables of the local stack', () => {
  const base = {project: 'p', region: 'r1', proxyPort: 4000, tokenFile: '/s/token', configDir: '/s/config'};
  const rows = [
    {
      name: 'URLs without a slash get one (gcloud refuses an override without)',
      runUrl: 'http://127.0.0.1:1',
      storageUrl: 'http://127.0.0.1:2',
    },
    {name: 'URLs with a slash keep one', runUrl: 'http://127.0.0.1:1/', storageUrl: 'http://127.0.0.1:2/'},
  ];
  for (const row of rows) {
    it(row.name, () =>
      assert.deepEqual(gcloudEnv({...base, runUrl: row.runUrl, storageUrl: row.storageUrl}), {
        CLOUDSDK_CONFIG: '/s/config',
        CLOUDSDK_CORE_PROJECT: 'p',
        CLOUDSDK_RUN_REGION: 'r1',
        CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: '/s/token',
        CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
        CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
        CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN: 'http://127.0.0.1:1/',
        CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE: 'http://127.0.0.1:2/',
        CLOUDSDK_PROXY_TYPE: 'http',
        CLOUDSDK_PROXY_ADDRESS: '127.0.0.1',
        CLOUDSDK_PROXY_PORT: '4000',
      }),
    );
  }
});
