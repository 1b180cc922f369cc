/**
 * What each command does, given an API client and where to print. No process globals here:
 * main.ts wires those in, and returns the exit code this answers.
 */
import type {ApiCommand, GlobalOptions} from './args';
import type {ApiClient} from './client';
import {CliError, EXIT_FAILURE} from './errors';
import {
  envChangeText,
  envTable,
  policyText,
  previewsTable,
  releasesTable,
  rolloutText,
  secretText,
  servicesTable,
  statusText,
} from './format';
import {isTerminalState} from '../src/releases/states';
import type {ApiRelease} from './types';
import {waitForRelease, type ProgressOut} from './wait';

/** What commands print to and read time from. */
export interface CommandEnv {
  client: ApiClient;
  stdout: ProgressOut;
  stderr: ProgressOut;
  now: () => Date;
  /** A fresh Idempotency-Key. */
  newKey: () => string;
  pollMs?: number;
}

const MAX_PAGE = 100;

/** Runs one command; resolves to the exit code. */
export async function runCommand(cmd: ApiCommand, opts: GlobalOptions, env: CommandEnv): Promise<number> {
  const {client, stdout} = env;
  const json = (v: unknown): void => stdout.write(JSON.stringify(v, null, 2) + '\n');
  switch (cmd.name) {
    case 'services': {
      const services = await client.listServices();
      if (opts.json) json({services});
      else stdout.write(servicesTable(services, env.now()));
      return 0;
    }
    case 'releases': {
      const releases = await newest(client, cmd.service, cmd.limit);
      if (opts.json) json({releases});
      else stdout.write(releasesTable(releases, env.now()));
      return 0;
    }
    case 'status': {
      const service = (await client.listServices()).find((s) => s.service === cmd.service);
      if (!service) throw new CliError(`dropdeploy manages no service ${cmd.service}; see \`dropdeploy services\``);
      const [latest] = (await client.listReleases(cmd.service, 1)).releases;
      if (opts.json) json({service, ...(latest ? {newest: latest} : {})});
      else stdout.write(statusText(service, latest, env.now()));
      return 0;
    }
    case 'logs': {
      const r =
        cmd.release !== undefined
          ? await client.getRelease(cmd.service, cmd.release)
          : (await newest(client, cmd.service, 1, (x) => x.buildLogUrl !== undefined))[0];
      if (!r) throw new CliError(`no release of ${cmd.service} has been built yet`);
      if (!r.buildLogUrl) {
        const why =
          r.rollbackOf !== undefined
            ? `it is a rollback to v${r.rollbackOf}, which deploys an image without building; try \`dropdeploy logs ${cmd.service} ${r.rollbackOf}\``
            : `it is ${r.state} and no build was started`;
        throw new CliError(`v${r.release} of ${cmd.service} has no build log: ${why}`);
      }
      if (opts.json) json(r);
      else stdout.write(r.buildLogUrl + '\n');
      return 0;
    }
    case 'redeploy':
    case 'rollback': {
      const key = env.newKey();
      const started =
        cmd.name === 'redeploy'
          ? await client.redeploy(cmd.service, cmd.source, key)
          : await client.rollback(cmd.service, cmd.release, key);
      const what = cmd.name === 'rollback' ? `rollback of ${started.service} to v${started.rollbackOf}` : `redeploy of ${started.service}`;
      return follow(started, what, opts, env);
    }
    case 'promote':
    case 'abort':
    case 'pause':
    case 'resume': {
      const target =
        cmd.release ?? (await newest(client, cmd.service, 1, (r) => r.state === 'verifying' || r.state === 'rolling_out'))[0]?.release;
      if (target === undefined)
        throw new CliError(`no release of ${cmd.service} is rolling out; see \`dropdeploy releases ${cmd.service}\``);
      const r = await client.controlRollout(cmd.service, target, cmd.name);
      if (opts.json) json(r);
      else stdout.write(rolloutText(r) + '\n');
      return 0;
    }
    case 'env': {
      const current = await client.getEnv(cmd.service);
      if (!cmd.change) {
        if (opts.json) json(current);
        else stdout.write(envTable(current));
        return 0;
      }
      const progress = opts.json ? env.stderr : stdout;
      // A name set over a Secret Manager reference turns it into a plain value: say so.
      for (const v of current.env) {
        if ('valueSource' in v && Object.hasOwn(cmd.change.set, v.name))
          progress.write(`${v.name} is a Secret Manager reference ${secretText(v.valueSource.secretKeyRef)}; it becomes a plain value\n`);
      }
      const started = await client.patchEnv(cmd.service, cmd.change, env.newKey());
      return follow(started, `environment change of ${cmd.service} (${envChangeText(cmd.change)})`, opts, env);
    }
    case 'previews': {
      if (cmd.remove !== undefined) {
        const r = await client.deletePreview(cmd.service, cmd.remove);
        if (opts.json) json(r);
        else stdout.write(r.detail + '\n');
        return 0;
      }
      const {previews} = await client.listPreviews(cmd.service);
      if (opts.json) json({previews});
      else stdout.write(previewsTable(cmd.service, previews));
      return 0;
    }
    case 'policy': {
      const policy = cmd.change ? await client.patchPolicy(cmd.service, cmd.change) : await client.getPolicy(cmd.service);
      if (opts.json) json(policy);
      else stdout.write(policyText(policy));
      return 0;
    }
  }
}

/** Up to `limit` releases, newest first, that pass `keep` (reading pages until enough). */
async function newest(client: ApiClient, service: string, limit: number, keep?: (r: ApiRelease) => boolean): Promise<ApiRelease[]> {
  const found: ApiRelease[] = [];
  let token: string | undefined;
  do {
    // Filtering may skip many releases, so it reads whole pages.
    const page = await client.listReleases(service, keep ? MAX_PAGE : Math.min(MAX_PAGE, limit - found.length), token);
    found.push(...(keep ? page.releases.filter(keep) : page.releases));
    token = page.nextPageToken;
  } while (token && found.length < limit);
  return found.slice(0, limit);
}

/** After a redeploy, rollback or env change (`what`): report the new release, wait for its end unless told not to. */
async function follow(started: ApiRelease, what: string, opts: GlobalOptions, env: CommandEnv): Promise<number> {
  // With --json the API's JSON owns stdout, so progress goes to stderr.
  const progress = opts.json ? env.stderr : env.stdout;
  if (!opts.wait && !isTerminalState(started.state)) {
    if (opts.json) env.stdout.write(JSON.stringify(started, null, 2) + '\n');
    else progress.write(`v${started.release} ${started.state}: ${what}; follow it with \`dropdeploy releases ${started.service}\`\n`);
    return 0;
  }
  progress.write(`${what}: release v${started.release}\n`);
  const {release, terminal} = await waitForRelease(env.client, started, progress, {
    timeoutMs: opts.timeoutSeconds * 1000,
    ...(env.pollMs ? {pollMs: env.pollMs} : {}),
  });
  if (opts.json) env.stdout.write(JSON.stringify(release, null, 2) + '\n');
  if (!terminal) {
    throw new CliError(
      `v${release.release} is still ${release.state} after ${opts.timeoutSeconds}s; it goes on without this command: ` +
        `see \`dropdeploy releases ${release.service}\`, or wait longer with --timeout`,
    );
  }
  if (release.state === 'deployed') return 0;
  const lines = [
    `dropdeploy: v${release.release} of ${release.service} ended ${release.state}` +
      (release.error
        ? `: ${release.error.code}: ${release.error.message}`
        : release.supersededBy !== undefined
          ? `: a newer release, v${release.supersededBy}, took its place`
          : ''),
  ];
  if (release.buildLogUrl) lines.push(`build log: ${release.buildLogUrl}`);
  env.stderr.write(lines.join('\n') + '\n');
  return EXIT_FAILURE;
}
