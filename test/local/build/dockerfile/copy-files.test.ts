import {after, describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join, relative} from 'node:path';
import {buildContext} from '../../../../local/build/dockerfile/build-context';
import {copyFiles} from '../../../../local/build/dockerfile/copy-files';
import {matcher} from '../../../../local/build/dockerfile/path-match';
import type {StepAction} from '../../../../local/build/dockerfile/plan-types';

const base = mkdtempSync(join(tmpdir(), 'dd-copy-'));
after(() => rmSync(base, {recursive: true, force: true}));

/** A source folder with these files (content = their name). */
function folder(files: string[]): string {
  const dir = mkdtempSync(join(base, 'src-'));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), {recursive: true});
    writeFileSync(join(dir, f), f === '.dockerignore' ? '' : f);
  }
  return dir;
}

function list(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

const copy = (over: Partial<Extract<StepAction, {op: 'copy'}>>): Extract<StepAction, {op: 'copy'}> => ({
  op: 'copy',
  from: 'context',
  sources: [],
  dest: '/app',
  destDir: false,
  ...over,
});

describe('Go filepath.Match wildcards in COPY sources', () => {
  const rows: [string, string, boolean][] = [
    ['package*.json', 'package.json', true],
    ['package*.json', 'package-lock.json', true],
    ['package*.json', 'sub/package.json', false],
    ['*', 'a/b', false],
    ['src/*.js', 'src/a.js', true],
    ['src/?.js', 'src/ab.js', false],
    ['[a-c].txt', 'b.txt', true],
    ['[^a-c].txt', 'd.txt', true],
    ['[^a-c].txt', 'a.txt', false],
    ['a\\*b', 'a*b', true],
    ['a.b', 'axb', false],
  ];
  for (const [pattern, path, want] of rows) {
    it(`${pattern} ${want ? 'matches' : 'does not match'} ${path}`, () => assert.equal(matcher(pattern).test(path), want));
  }
});

describe('COPY from the build context, as Docker copies', () => {
  it('honours .dockerignore with Docker’s rules: anchored patterns, ** and ! exceptions under an excluded folder', () => {
    const dir = folder(['a.md', 'docs/b.md', 'logs/x.txt', 'logs/keep.txt', 'deep/er/y.tmp', 'index.js', '.dockerignore']);
    writeFileSync(join(dir, '.dockerignore'), '# comment\n*.md\nlogs\n!logs/keep.txt\n**/*.tmp\n');
    const {tree, patterns} = buildContext(dir);
    assert.equal(patterns, 4);
    const rootfs = mkdtempSync(join(base, 'rootfs-'));
    copyFiles(copy({sources: [''], destDir: true}), tree, rootfs, 'the build context');
    assert.deepEqual(list(join(rootfs, 'app')), ['.dockerignore', 'docs/b.md', 'index.js', 'logs/keep.txt']);
  });

  it('copies a file to a file name, into a folder, and a folder’s contents (not the folder)', () => {
    const {tree} = buildContext(folder(['a.js', 'lib/x.js', 'lib/y/z.js']));
    const rootfs = mkdtempSync(join(base, 'rootfs-'));
    copyFiles(copy({sources: ['a.js'], dest: '/app/main.js'}), tree, rootfs, 'ctx');
    copyFiles(copy({sources: ['a.js'], dest: '/app/dir', destDir: true}), tree, rootfs, 'ctx');
    copyFiles(copy({sources: ['lib'], dest: '/app/out'}), tree, rootfs, 'ctx');
    assert.deepEqual(list(join(rootfs, 'app')), ['dir/a.js', 'main.js', 'out/x.js', 'out/y/z.js']);
    assert.equal(readFileSync(join(rootfs, 'app', 'main.js'), 'utf8'), 'a.js');
  });

  it('copies nothing for a wildcard that matches nothing, with a note, and applies --chmod', () => {
    const {tree} = buildContext(folder(['package.json', 'run.sh']));
    const rootfs = mkdtempSync(join(base, 'rootfs-'));
    const out = copyFiles(copy({sources: ['package*.json', 'yarn*.lock'], destDir: true}), tree, rootfs, 'the build context');
    assert.deepEqual(out, {files: 1, notes: ['no file in the build context matches "yarn*.lock": nothing copied for it']});
    copyFiles(copy({sources: ['run.sh'], destDir: true, chmod: 0o755}), tree, rootfs, 'ctx');
    assert.equal(statSync(join(rootfs, 'app', 'run.sh')).mode & 0o777, 0o755);
  });

  it('refuses a missing source and a destination that a symlink leads out of the rootfs', () => {
    const {tree} = buildContext(folder(['a.js']));
    const rootfs = mkdtempSync(join(base, 'rootfs-'));
    assert.throws(
      () => copyFiles(copy({sources: ['nope.js']}), tree, rootfs, 'the build context'),
      /^Error: "nope\.js" is not in the build context$/,
    );
    const outside = mkdtempSync(join(base, 'outside-'));
    symlinkSync(outside, join(rootfs, 'escape'));
    assert.throws(
      () => copyFiles(copy({sources: ['a.js'], dest: '/escape/x', destDir: true}), tree, rootfs, 'ctx'),
      /leads outside the image/,
    );
    assert.deepEqual(readdirSync(outside), []);
  });
});
