/**
 * package.json declares every package the code imports and nothing it does not; and the
 * deployed function (src/, which Cloud Run installs with `dependencies` only) imports no
 * dev dependency. Imports are read with TypeScript's own pre-processor, not by pattern.
 */
import assert from 'node:assert/strict';
import {readdirSync, readFileSync, statSync} from 'node:fs';
import {builtinModules} from 'node:module';
import {join, relative} from 'node:path';
import {describe, it} from 'node:test';
import ts from 'typescript';

const ROOT = join(__dirname, '..', '..', '..');
const CODE = ['src', 'local', 'cli', 'bench', 'test'];
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Packages used by tooling, not imported by the code: the compiler, linters, formatter and type packages. */
const TOOLING = new Set([
  'typescript',
  'eslint',
  'typescript-eslint',
  '@eslint/js',
  'prettier',
  '@types/node',
  '@types/yauzl',
  '@types/semver',
  '@types/ws',
]);
/** Packages only read for the .proto files they ship (local/grpc/protos.ts), never imported. */
const PROTOS_ONLY = new Set(['@google-cloud/logging-api']);
/** A dev dependency src/ may load: only on request, synchronously, with a clear error when absent (src/log.ts). */
const OPTIONAL_IN_SRC = new Set(['pino-pretty']);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name === 'fixtures' || name === 'node_modules') return [];
    return statSync(p).isDirectory() ? files(p) : name.endsWith('.ts') && !name.endsWith('.d.ts') ? [p] : [];
  });
}

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`; undefined for relative and Node's own modules. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0])) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The packages each file imports (import, export … from, import(), require()). */
function imports(): Map<string, Set<string>> {
  const byFile = new Map<string, Set<string>>();
  for (const file of CODE.flatMap((d) => files(join(ROOT, d)))) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const names = new Set(info.importedFiles.map((f) => packageOf(f.fileName)).filter((p): p is string => p !== undefined));
    byFile.set(relative(ROOT, file), names);
  }
  return byFile;
}

describe('declared dependencies', () => {
  const byFile = imports();
  const used = new Set([...byFile.values()].flatMap((s) => [...s]));

  it('reads package names from specifiers', () => {
    assert.deepEqual(['@google-cloud/run/build/x', 'tar', 'yauzl/x', './a', 'node:fs', 'fs', 'fs/promises'].map(packageOf), [
      '@google-cloud/run',
      'tar',
      'yauzl',
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('every imported package is declared', () => {
    const declared = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)]);
    const missing = [...used].filter((p) => !declared.has(p));
    assert.deepEqual(missing, [], `add these to package.json (npm install --save[-dev]): ${missing.join(', ')}`);
  });

  it('every declared package is imported (or is tooling)', () => {
    const unused = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)].filter(
      (p) => !used.has(p) && !TOOLING.has(p) && !PROTOS_ONLY.has(p),
    );
    assert.deepEqual(unused, [], `nothing imports these: npm uninstall ${unused.join(' ')}`);
  });

  it('the deployed function (src/) imports runtime dependencies only', () => {
    const dev = [...byFile].flatMap(([file, names]) =>
      file.startsWith('src/')
        ? [...names].filter((p) => !(p in pkg.dependencies) && !OPTIONAL_IN_SRC.has(p)).map((p) => `${file}: ${p}`)
        : [],
    );
    assert.deepEqual(dev, [], 'Cloud Run installs `dependencies` only: move these to dependencies, or out of src/');
  });
});
