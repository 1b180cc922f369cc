/**
 * The parts of a source's package.json that Google's Node.js buildpacks read, parsed from its
 * text. Each field is kept only when it has the type package.json gives it, as the buildpacks'
 * Go struct would decode it.
 */

/** The parts of package.json that the buildpacks decide by. */
export interface PackageJson {
  main?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  engines?: {node?: string; npm?: string; pnpm?: string; yarn?: string};
  /** Corepack's field, e.g. "pnpm@9.12.0" or "yarn@4.5.0+sha512.…". */
  packageManager?: string;
  /**
   * Every field an install reads (dependencies of every kind, overrides, resolutions, workspaces,
   * engines, packageManager) as canonical JSON: part of the dependency cache key, so editing a
   * script keeps the cache and editing a dependency does not.
   */
  installInputs: string;
}

/** Why a package.json could not be read. */
export class PackageJsonError extends Error {}

const INSTALL_FIELDS = [
  'dependencies',
  'devDependencies',
  'optionalDependencies',
  'peerDependencies',
  'bundleDependencies',
  'bundledDependencies',
  'overrides',
  'resolutions',
  'pnpm',
  'workspaces',
  'engines',
  'packageManager',
];

/** Parses package.json text; throws a PackageJsonError when it is not a JSON object. */
export function parsePackageJson(text: string): PackageJson {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PackageJsonError(`package.json is not valid JSON: ${(err as Error).message}`);
  }
  if (!isRecord(raw)) throw new PackageJsonError('package.json is not valid JSON: not an object');
  const out: PackageJson = {installInputs: JSON.stringify(INSTALL_FIELDS.map((f) => [f, raw[f] ?? null]))};
  if (typeof raw.main === 'string') out.main = raw.main;
  if (typeof raw.packageManager === 'string') out.packageManager = raw.packageManager;
  const scripts = stringMap(raw.scripts);
  if (scripts) out.scripts = scripts;
  const deps = stringMap(raw.dependencies);
  if (deps) out.dependencies = deps;
  const dev = stringMap(raw.devDependencies);
  if (dev) out.devDependencies = dev;
  const engines = stringMap(raw.engines);
  if (engines) {
    const {node, npm, pnpm, yarn} = engines;
    out.engines = Object.fromEntries(Object.entries({node, npm, pnpm, yarn}).filter(([, v]) => v !== undefined));
  }
  return out;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** The string-valued entries of an object field, or undefined when it is not an object. */
function stringMap(x: unknown): Record<string, string> | undefined {
  if (!isRecord(x)) return undefined;
  return Object.fromEntries(Object.entries(x).filter((e): e is [string, string] => typeof e[1] === 'string'));
}
