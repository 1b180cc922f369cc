import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {LocalRegistry} from '../../../local/build/registry';

// Builds happen in the system temp folder and the registry lives in `.dropdeploy/`: on many
// machines those are two file systems (a tmpfs /tmp), where a rename fails with EXDEV. /dev/shm
// is a tmpfs wherever it exists, so there the push below crosses file systems for real.
const buildBase = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

describe('LocalRegistry.push', () => {
  it('moves a build tree into the registry intact: files, modes, relative links as they were', async () => {
    const registryRoot = mkdtempSync(join(tmpdir(), 'dd-registry-'));
    const build = mkdtempSync(join(buildBase, 'dd-build-'));
    try {
      const rootfs = join(build, 'src');
      mkdirSync(join(rootfs, 'bin'), {recursive: true});
      writeFileSync(join(rootfs, 'package.json'), '{"name":"app"}');
      writeFileSync(join(rootfs, 'bin', 'run'), '#!/bin/sh\n', {mode: 0o755});
      symlinkSync('../package.json', join(rootfs, 'bin', 'pkg'));
      const registry = new LocalRegistry(registryRoot);
      const digest = await registry.push('app:v1', rootfs, {entrypoint: ['node', 'index.js'], env: {}});

      const image = registry.resolve('app:v1')!;
      assert.equal(image.digest, digest);
      assert.ok(!existsSync(rootfs), 'the build tree was moved, not left behind');
      assert.equal(readFileSync(join(image.rootfs, 'package.json'), 'utf8'), '{"name":"app"}');
      assert.equal(statSync(join(image.rootfs, 'bin', 'run')).mode & 0o777, 0o755);
      assert.ok(lstatSync(join(image.rootfs, 'bin', 'pkg')).isSymbolicLink());
      assert.equal(readlinkSync(join(image.rootfs, 'bin', 'pkg')), '../package.json');
    } finally {
      rmSync(registryRoot, {recursive: true, force: true});
      rmSync(build, {recursive: true, force: true});
    }
  });
});
