/**
 * Which Node.js runs, and what the image runs, as Google's Node.js buildpacks decide them
 * (cmd/nodejs/runtime, pkg/nodejs DefaultStartCommand, cmd/config/entrypoint). The host has one
 * Node.js, so a version the source asks for is checked, not installed.
 */
import {satisfies, validRange} from 'semver';
import type {PackageJson} from './package-json';

/** What the image runs (a function is served by the Functions Framework instead). */
export type StartPlan =
  {kind: 'entrypoint'; command: string} | {kind: 'script'; script: string} | {kind: 'node'; file: string; why: string};

/** The log line about Node.js: the host's, and whether it is the one the source asks for. */
export function nodeVersionLine(hostNode: string, pkg: PackageJson | undefined, vars: Map<string, string>): string {
  // The runtime buildpack reads GOOGLE_NODEJS_VERSION, then GOOGLE_RUNTIME_VERSION, then engines.node.
  const asked = [
    ['GOOGLE_NODEJS_VERSION', vars.get('GOOGLE_NODEJS_VERSION')],
    ['GOOGLE_RUNTIME_VERSION', vars.get('GOOGLE_RUNTIME_VERSION')],
    ['engines.node in package.json', pkg?.engines?.node],
  ].find((a): a is [string, string] => Boolean(a[1]));
  if (!asked) return `Using Node.js ${hostNode} (the host's; no engines.node in package.json, Google Cloud picks Node.js 20)`;
  const [from, range] = asked;
  if (validRange(range) && satisfies(hostNode, range)) return `Using Node.js ${hostNode} (the host's; satisfies ${from} "${range}")`;
  const why = validRange(range) ? 'does not satisfy' : 'cannot be checked against (not a semver range)';
  return (
    `WARNING: ${from} asks for Node.js "${range}", which the host's Node.js ${hostNode} ${why}: ` +
    `the build and the app run with ${hostNode} here, while Google Cloud installs a matching version`
  );
}

/** The start command: GOOGLE_ENTRYPOINT, else the start script, else server.js, main or index.js. */
export function resolveStart(files: ReadonlySet<string>, pkg: PackageJson | undefined, entrypoint: string | undefined): StartPlan {
  if (entrypoint?.trim()) return {kind: 'entrypoint', command: entrypoint.trim()};
  const script = pkg?.scripts?.start?.trim();
  if (script) return {kind: 'script', script};
  // `npm run start` without a start script runs `node server.js`.
  if (files.has('server.js')) return {kind: 'node', file: 'server.js', why: 'npm start runs server.js when there is no start script'};
  if (pkg?.main) return {kind: 'node', file: pkg.main, why: 'the main file in package.json'};
  return {kind: 'node', file: 'index.js', why: 'no start script, server.js or main in package.json'};
}

/** The start command as the log shows it. */
export function describeStart(start: StartPlan): string {
  switch (start.kind) {
    case 'entrypoint':
      return `${start.command} (from GOOGLE_ENTRYPOINT)`;
    case 'script':
      return `${start.script} (the "start" script)`;
    case 'node':
      return `node ${start.file} (${start.why})`;
  }
}
