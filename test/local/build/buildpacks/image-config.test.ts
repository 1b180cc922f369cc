import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {FF_LAYER, imageConfig} from '../../../../local/build/buildpacks/image-config';

const ff = (root: string, under: string) => {
  const dir = join(root, under, '@google-cloud', 'functions-framework');
  mkdirSync(dir, {recursive: true});
  writeFileSync(join(dir, 'package.json'), JSON.stringify({bin: {'functions-framework': './build/src/main.js'}}));
};

describe('imageConfig', () => {
  it("runs the source's own Functions Framework bin with the target and signature type", () => {
    const root = mkdtempSync(join(tmpdir(), 'dd-fn-'));
    try {
      ff(root, 'node_modules');
      const env = {NODE_ENV: 'production', FUNCTION_TARGET: 'hello', FUNCTION_SIGNATURE_TYPE: 'cloudevent'};
      assert.deepEqual(
        imageConfig(root, {fn: {target: 'hello', signatureType: 'cloudevent', inject: false}, pnp: false, imageEnv: env}, undefined),
        {
          entrypoint: [
            'node',
            'node_modules/@google-cloud/functions-framework/build/src/main.js',
            '--target=hello',
            '--signature-type=cloudevent',
          ],
          env,
        },
      );
    } finally {
      rmSync(root, {recursive: true, force: true});
    }
  });

  it('runs the added Functions Framework from its layer, with the app folder on NODE_PATH', () => {
    const root = mkdtempSync(join(tmpdir(), 'dd-fn-'));
    try {
      ff(root, join(FF_LAYER, 'node_modules'));
      mkdirSync(join(root, 'node_modules'));
      const config = imageConfig(
        root,
        {fn: {target: 'hello', signatureType: 'http', inject: true}, pnp: false, imageEnv: {NODE_ENV: 'production'}},
        undefined,
      );
      assert.deepEqual(config.entrypoint, [
        'node',
        '.layers/functions-framework/node_modules/@google-cloud/functions-framework/build/src/main.js',
        '--target=hello',
        '--signature-type=http',
      ]);
      assert.equal(config.env.NODE_PATH, 'node_modules');
    } finally {
      rmSync(root, {recursive: true, force: true});
    }
  });

  it('runs a start script that only a shell understands through sh, with node_modules/.bin on PATH', () => {
    const config = imageConfig('/nonexistent', {pnp: false, imageEnv: {}}, {kind: 'script', script: 'NODE_OPTIONS=-r x node a.js'});
    assert.deepEqual(config.entrypoint, ['sh', '-c', 'export PATH="$PWD/node_modules/.bin:$PATH"; NODE_OPTIONS=-r x node a.js']);
  });

  it("resolves Yarn Plug'n'Play dependencies through .pnp.cjs", () => {
    const config = imageConfig('/nonexistent', {pnp: true, imageEnv: {NODE_ENV: 'production'}}, {kind: 'script', script: 'node server.js'});
    assert.deepEqual(config, {entrypoint: ['node', 'server.js'], env: {NODE_ENV: 'production', NODE_OPTIONS: '--require ./.pnp.cjs'}});
  });

  it('fails a main file that the build did not make, saying what to add', () => {
    assert.throws(
      () => imageConfig('/nonexistent', {pnp: false, imageEnv: {}}, {kind: 'node', file: 'dist/index.js', why: 'main'}),
      /package\.json has no "start" script and its main file "dist\/index\.js" does not exist/,
    );
  });
});
