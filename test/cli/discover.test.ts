/**
 * Finding the API: --url, then DROPDEPLOY_URL, then local.json ($DROPDEPLOY_LOCAL_DIR, else
 * walking up from the working directory), then an error naming all three.
 */
import assert from 'node:assert/strict';
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {describe, it} from 'node:test';
import {findApi} from '../../cli/discover';

function tree(): {root: string; deep: string; localDir: string} {
  const root = mkdtempSync(join(tmpdir(), 'dd-cli-find-'));
  mkdirSync(join(root, '.dropdeploy'));
  writeFileSync(join(root, '.dropdeploy', 'local.json'), JSON.stringify({apiUrl: 'http://127.0.0.1:7001', pid: 1}));
  const deep = join(root, 'a', 'b', 'c');
  mkdirSync(deep, {recursive: true});
  const localDir = join(root, 'elsewhere');
  mkdirSync(localDir);
  writeFileSync(join(localDir, 'local.json'), JSON.stringify({apiUrl: 'http://127.0.0.1:7002/'}));
  return {root, deep, localDir};
}

describe('findApi', () => {
  const t = tree();
  const empty = mkdtempSync(join(tmpdir(), 'dd-cli-empty-'));
  const cases: Array<{
    name: string;
    flag?: string;
    env: Record<string, string>;
    cwd: string;
    want?: {url: string; from: string};
    error?: RegExp;
  }> = [
    {
      name: '--url wins over everything',
      flag: 'https://api.example.com/',
      env: {DROPDEPLOY_URL: 'https://env.example.com', DROPDEPLOY_LOCAL_DIR: t.localDir},
      cwd: t.deep,
      want: {url: 'https://api.example.com', from: '--url'},
    },
    {
      name: 'then DROPDEPLOY_URL',
      env: {DROPDEPLOY_URL: 'https://env.example.com', DROPDEPLOY_LOCAL_DIR: t.localDir},
      cwd: t.deep,
      want: {url: 'https://env.example.com', from: 'DROPDEPLOY_URL'},
    },
    {
      name: 'then $DROPDEPLOY_LOCAL_DIR/local.json',
      env: {DROPDEPLOY_LOCAL_DIR: t.localDir},
      cwd: t.deep,
      want: {url: 'http://127.0.0.1:7002', from: join(t.localDir, 'local.json')},
    },
    {
      name: 'then .dropdeploy/local.json walking up from the cwd',
      env: {},
      cwd: t.deep,
      want: {url: 'http://127.0.0.1:7001', from: join(t.root, '.dropdeploy', 'local.json')},
    },
    {
      name: 'an empty DROPDEPLOY_URL counts as unset',
      env: {DROPDEPLOY_URL: ''},
      cwd: t.root,
      want: {url: 'http://127.0.0.1:7001', from: join(t.root, '.dropdeploy', 'local.json')},
    },
    {
      name: 'DROPDEPLOY_LOCAL_DIR without local.json: no walking up',
      env: {DROPDEPLOY_LOCAL_DIR: empty},
      cwd: t.deep,
      error:
        /Pass --url URL, or set DROPDEPLOY_URL, or start the local stack with `npm start` \(it writes \.dropdeploy\/local\.json; no \/.*dd-cli-empty-\w+\/local\.json\)$/,
    },
    {
      name: 'nothing anywhere',
      env: {},
      cwd: empty,
      error:
        /where is the dropdeploy API\? Pass --url URL, or set DROPDEPLOY_URL, or start the local stack with `npm start` .*; none in \/.*dd-cli-empty-\w+ or above\)$/,
    },
    {name: 'a bad --url', flag: 'api.example.com', env: {}, cwd: empty, error: /--url: "api.example.com" is not a URL/},
    {
      name: 'a non-http DROPDEPLOY_URL',
      env: {DROPDEPLOY_URL: 'ftp://x'},
      cwd: empty,
      error: /DROPDEPLOY_URL: "ftp:\/\/x" is not an http\(s\) URL/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      if (c.want) assert.deepEqual(findApi(c.flag, c.env, c.cwd), c.want);
      else assert.throws(() => findApi(c.flag, c.env, c.cwd), c.error!);
    });
  }
  it('a broken local.json says to restart the stack', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dd-cli-broken-'));
    writeFileSync(join(dir, 'local.json'), '{"pid": 1}');
    assert.throws(() => findApi(undefined, {DROPDEPLOY_LOCAL_DIR: dir}, dir), /has no apiUrl; restart the local stack with `npm start`/);
    writeFileSync(join(dir, 'local.json'), '{');
    assert.throws(() => findApi(undefined, {DROPDEPLOY_LOCAL_DIR: dir}, dir), /is not readable JSON/);
  });
});
