/**
 * Which package manager Google's Node.js buildpacks use for a source, and which version: the
 * builder tries the yarn group first, then pnpm, then npm, each opting in on its lockfile
 * (GoogleCloudPlatform/buildpacks builders/gcp/base/*.builder.toml, cmd/nodejs/{yarn,pnpm,npm}).
 * Corepack cannot download pnpm or yarn here, so they run from the npm registry's own packages
 * through `npm exec` (pnpm, yarn for Yarn 1, @yarnpkg/cli-dist for Yarn 2 and later).
 */
import {major, minVersion, satisfies, validRange} from 'semver';
import {BuildFailure} from '../build-failure';
import type {PackageJson} from './package-json';

/** A package manager as the build runs it. */
export interface PackageManager {
  name: 'npm' | 'pnpm' | 'yarn';
  /** Yarn only: classic (1.x) or berry (2+), told apart by yarn.lock as the buildpack does. */
  flavor?: 'classic' | 'berry';
  /** The lockfile that chose it; none for npm without one. */
  lockfile?: string;
  /** The version asked for: exact ("9.12.0"), a range ("^9"), or "latest". */
  version: string;
  /** The argv after `npm` that runs it: empty for npm itself, else `exec --yes --package=… -- <bin>`. */
  via: string[];
  /** The one log line saying what was chosen and why. */
  line: string;
}

/** What the choice reads from the source. */
export interface ManagerInput {
  /** Root-relative paths that exist (only those the build asks about). */
  files: ReadonlySet<string>;
  packageJson: PackageJson;
  /** yarn.lock has a `__metadata` block: written by Yarn 2 or later. */
  yarnLockBerry: boolean;
  /** The host's npm version, when known. */
  hostNpm?: string;
}

/** Chooses the package manager; throws a BuildFailure when package.json contradicts the lockfile. */
export function choosePackageManager(input: ManagerInput): PackageManager {
  const {files, packageJson: pkg} = input;
  if (files.has('yarn.lock')) {
    const flavor = input.yarnLockBerry ? 'berry' : 'classic';
    const asked = askedVersion('yarn', pkg);
    const berry = asked ? isBerry(asked.version, 'engines.yarn') : flavor === 'berry';
    const version = asked?.version ?? 'latest';
    const spec = `${berry ? '@yarnpkg/cli-dist' : 'yarn'}@${version}`;
    const why =
      flavor === 'berry' ? 'yarn.lock has a __metadata block: Yarn 2 or later' : 'yarn.lock has no __metadata block: Yarn classic';
    const from = asked ? `version from ${asked.from}` : berry ? 'the latest Yarn' : 'the latest yarn package, 1.x';
    return {name: 'yarn', flavor, lockfile: 'yarn.lock', version, via: viaExec(spec, 'yarn'), line: line(`yarn ${version}`, why, from)};
  }
  if (files.has('pnpm-lock.yaml')) {
    const asked = askedVersion('pnpm', pkg);
    const version = asked?.version ?? 'latest';
    return {
      name: 'pnpm',
      lockfile: 'pnpm-lock.yaml',
      version,
      via: viaExec(`pnpm@${version}`, 'pnpm'),
      line: line(`pnpm ${version}`, 'pnpm-lock.yaml', asked ? `version from ${asked.from}` : 'the latest pnpm'),
    };
  }
  // npm prefers npm-shrinkwrap.json (https://docs.npmjs.com/cli/shrinkwrap), as the buildpack does.
  const lockfile = ['npm-shrinkwrap.json', 'package-lock.json'].find((f) => files.has(f));
  const host = input.hostNpm ? `npm ${input.hostNpm}` : 'npm';
  const wanted = pkg.engines?.npm;
  let from = "the host's npm";
  if (wanted) {
    from =
      input.hostNpm && validRange(wanted) && satisfies(input.hostNpm, wanted)
        ? `the host's npm, which satisfies engines.npm "${wanted}"`
        : `the host's npm; engines.npm "${wanted}" is not installed locally (Google Cloud installs it)`;
  }
  return {
    name: 'npm',
    lockfile,
    version: input.hostNpm ?? '',
    via: [],
    line: line(host, lockfile ?? 'no lockfile', from),
  };
}

/** The version package.json asks for: engines.<pm> first, then packageManager, as the buildpack reads them. */
function askedVersion(name: 'pnpm' | 'yarn', pkg: PackageJson): {version: string; from: string} | undefined {
  const engine = pkg.engines?.[name];
  if (engine) {
    if (!validRange(engine)) {
      throw new BuildFailure(`package.json: engines.${name} "${engine}" is not a version or range: set it like "^9" or "9.12.0"`);
    }
    return {version: engine, from: `engines.${name} in package.json`};
  }
  if (!pkg.packageManager) return undefined;
  const [pm, rest = ''] = pkg.packageManager.split('@');
  if (pm !== name) {
    throw new BuildFailure(
      `${name} was detected (by its lockfile) but package.json's packageManager field names ${pm}: make them agree, ` +
        `or remove the lockfile of the one you do not use`,
    );
  }
  // Corepack's "+sha512.…" suffix pins the download; the registry's package is the same version.
  const version = rest.split('+')[0];
  if (!validRange(version)) {
    throw new BuildFailure(`package.json: packageManager "${pkg.packageManager}" has no version: write it as "${name}@<version>"`);
  }
  return {version, from: 'packageManager in package.json'};
}

/** Whether a requested Yarn version is 2 or later (the @yarnpkg/cli-dist package rather than yarn). */
function isBerry(version: string, field: string): boolean {
  const min = minVersion(version);
  if (!min) throw new BuildFailure(`package.json: ${field} "${version}" matches no Yarn version`);
  return major(min) >= 2;
}

function viaExec(spec: string, bin: string): string[] {
  return ['exec', '--yes', `--package=${spec}`, '--', bin];
}

function line(what: string, why: string, from: string): string {
  return `Using package manager: ${what} (${why}; ${from})`;
}
