/**
 * What `gcloud functions deploy --source=.` uploads (.gcloudignore) and how the platform builds it
 * (package.json `gcp-build` → tsconfig.build.json → the `main` entry point).
 */
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, relative, resolve} from 'node:path';
import {describe, it} from 'node:test';

const ROOT = resolve(__dirname, '../../..');

interface Rule {
  negate: boolean;
  anchored: boolean;
  dirOnly: boolean;
  re: RegExp;
}

/**
 * The subset of .gitignore syntax .gcloudignore uses here: comments, `!` negation, a leading `/`
 * anchoring to the root, a trailing `/` for directories, `*` within one path segment. The last
 * matching rule wins, and an ignored directory hides everything under it.
 */
function parseIgnore(text: string): Rule[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((line) => {
      if (line.includes('**') || line.includes('?') || line.includes('[')) {
        throw new Error(`this test's .gcloudignore parser does not understand "${line}": extend it`);
      }
      const negate = line.startsWith('!');
      let p = negate ? line.slice(1) : line;
      const dirOnly = p.endsWith('/');
      if (dirOnly) p = p.slice(0, -1);
      const anchored = p.startsWith('/') || p.includes('/');
      if (p.startsWith('/')) p = p.slice(1);
      const re = new RegExp(
        '^' +
          p
            .split('*')
            .map((s) => s.replace(/[.+^${}()|\\]/g, '\\$&'))
            .join('[^/]*') +
          '$',
      );
      return {negate, anchored, dirOnly, re};
    });
}

function ignored(rules: Rule[], path: string): boolean {
  const parts = path.split('/');
  // Each ancestor directory first: once one is ignored, nothing below it can come back.
  for (let i = 1; i <= parts.length; i++) {
    const sub = parts.slice(0, i).join('/');
    const isDir = i < parts.length;
    let out = false;
    for (const r of rules) {
      if (r.dirOnly && !isDir) continue;
      const hit = r.anchored ? r.re.test(sub) : r.re.test(parts[i - 1]);
      if (hit) out = !r.negate;
    }
    if (out) return true;
  }
  return false;
}

const MUST_SKIP = [
  'test/deploy/install.test.ts',
  'local/start.ts',
  'cli/args.ts',
  'bench/run.ts',
  'examples/hello-app/package.json',
  'deploy/install.sh',
  '.ci/run',
  '.dropdeploy/local.json',
  'dist/src/index.js',
  'node_modules/typescript/package.json',
  'docs/notes.md',
  'docs/dashboard.png',
  '.env',
];
const MUST_KEEP = [
  'src/index.ts',
  'src/controller/deploy.ts',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'schemas/release-event.v1.json',
  // The dashboard: its page and style sheet are served from the source, its scripts built by gcp-build.
  'src/dashboard/static/index.html',
  'src/dashboard/static/dashboard.css',
  'src/dashboard/tsconfig.json',
  'src/dashboard/browser/app.ts',
];

describe('.gcloudignore', () => {
  const rules = parseIgnore(readFileSync(join(ROOT, '.gcloudignore'), 'utf8'));

  for (const p of MUST_SKIP) it(`keeps ${p} out of the upload`, () => assert.ok(ignored(rules, p)));
  for (const p of MUST_KEEP) it(`uploads ${p}`, () => assert.ok(!ignored(rules, p)));

  it('agrees with gcloud itself (`gcloud meta list-files-for-upload`)', () => {
    // gcloud is a prerequisite of npm test (the emulators need it): its absence fails here too.
    const r = spawnSync('gcloud', ['meta', 'list-files-for-upload', ROOT], {encoding: 'utf8', timeout: 60_000});
    assert.ok(
      !r.error && r.status === 0,
      `gcloud meta list-files-for-upload failed (install the gcloud CLI): ${r.error?.message ?? r.stderr}`,
    );
    const files = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((f) => relative(ROOT, resolve(ROOT, f)));
    for (const p of MUST_KEEP) assert.ok(files.includes(p), `${p} not uploaded`);
    const stray = files.filter((f) => /^(test|local|cli|bench|examples|deploy|docs|\.ci|\.dropdeploy|dist|node_modules)\//.test(f));
    assert.deepEqual(stray, []);
    for (const f of files) assert.ok(!ignored(rules, f), `the parser here and gcloud disagree on ${f}`);
  });
});

describe('the platform build (gcp-build)', () => {
  it('compiles the controller alone to the package.json entry point, and the dashboard scripts to dist/ui', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {main: string; scripts: Record<string, string>};
    assert.equal(pkg.scripts['gcp-build'], 'tsc -p tsconfig.build.json && tsc -p src/dashboard/tsconfig.json');
    const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as {include: string[]};
    assert.deepEqual(build.include, ['src']);
    const out = mkdtempSync(join(tmpdir(), 'dropdeploy-gcp-build-'));
    try {
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', out], {cwd: ROOT, encoding: 'utf8'});
      assert.equal(r.status, 0, r.stdout + r.stderr);
      // main is dist/src/index.js and the build's outDir is dist.
      assert.ok(existsSync(join(out, relative('dist', pkg.main))), `${pkg.main} not produced`);
      assert.ok(!existsSync(join(out, 'test')) && !existsSync(join(out, 'local')), 'the build compiled more than src/');
      // The second step: dist/ui/, where src/http/dashboard.ts serves the scripts from.
      const ui = join(out, 'ui');
      const d = spawnSync(process.execPath, [tsc, '-p', 'src/dashboard/tsconfig.json', '--outDir', ui], {cwd: ROOT, encoding: 'utf8'});
      assert.equal(d.status, 0, d.stdout + d.stderr);
      for (const f of ['dashboard/browser/app.js', 'dashboard/view.js', 'releases/states.js'])
        assert.ok(existsSync(join(ui, f)), `dist/ui/${f} not produced`);
      assert.ok(readFileSync(join(ui, 'dashboard/view.js'), 'utf8').includes("from '../releases/states.js'"), 'the scripts are ES modules');
    } finally {
      rmSync(out, {recursive: true, force: true});
    }
  });
});
