/**
 * Reads what the planner needs from an extracted source: which of the files it asks about
 * exist, package.json, project.toml, and how yarn.lock and .yarnrc.yml were written.
 */
import {existsSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import {BuildFailure} from '../build-failure';
import {PackageJsonError, parsePackageJson, type PackageJson} from './package-json';
import {pathsToCheck, type SourceShape} from './plan';
import {parseProjectToml, ProjectTomlError, type EnvPair} from './project-toml';

/** The parts of the source's shape read from its files. */
export type SourceFiles = Pick<SourceShape, 'files' | 'packageJson' | 'yarnLockBerry' | 'yarnrc' | 'projectEnv'>;

/** Reads the source at `root`; throws a BuildFailure for a package.json or project.toml that cannot be read. */
export function readSource(root: string): SourceFiles {
  const packageJson = readPackage(root);
  const files = existing(root, packageJson?.main);
  const out: SourceFiles = {files, packageJson, projectEnv: files.has('project.toml') ? readProjectEnv(root) : []};
  // After Yarn 2, yarn.lock is YAML with a top-level __metadata block; Yarn 1's is not.
  if (files.has('yarn.lock')) out.yarnLockBerry = /^__metadata:/m.test(readFileSync(join(root, 'yarn.lock'), 'utf8'));
  if (files.has('.yarnrc.yml')) out.yarnrc = parseYarnrc(readFileSync(join(root, '.yarnrc.yml'), 'utf8'));
  return out;
}

/** Which of the paths the planner asks about exist at `root`. */
export function existing(root: string, main: string | undefined): Set<string> {
  return new Set(pathsToCheck(main).filter((p) => existsSync(join(root, p))));
}

function readPackage(root: string): PackageJson | undefined {
  const path = join(root, 'package.json');
  if (!existsSync(path)) return undefined;
  try {
    return parsePackageJson(readFileSync(path, 'utf8'));
  } catch (err) {
    if (err instanceof PackageJsonError) throw new BuildFailure(err.message);
    throw err;
  }
}

function readProjectEnv(root: string): EnvPair[] {
  try {
    return parseProjectToml(readFileSync(join(root, 'project.toml'), 'utf8'));
  } catch (err) {
    if (err instanceof ProjectTomlError) throw new BuildFailure(`${err.message}: fix it, or remove project.toml`);
    throw err;
  }
}

/** The two settings of .yarnrc.yml the build reads; a line-level read is enough for these top-level keys. */
export function parseYarnrc(text: string): {nodeLinker?: string; plugins: string[]} {
  const linker = /^nodeLinker:\s*["']?([\w-]+)["']?\s*$/m.exec(text)?.[1];
  const plugins = [...text.matchAll(/@yarnpkg\/plugin-[\w-]+/g)].map((m) => m[0]);
  return linker ? {nodeLinker: linker, plugins} : {plugins};
}
