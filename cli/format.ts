/**
 * Human output: tables and lines. Pure: the clock comes in as `now`, so the same releases
 * always print the same way.
 */
import type {ApiEnv, ApiPolicy, ApiPreview, ApiRelease, ApiService} from './types';

/** Lays out rows under a header, columns padded to their widest cell; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return (
    all
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** How long ago `time` was, short: `42s ago`, `5m ago`, `3h ago`, `2d ago`; the date beyond a month. */
export function age(time: string, now: Date): string {
  const t = new Date(time);
  const s = Math.max(0, Math.floor((now.getTime() - t.getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  if (s < 30 * 86_400) return `${Math.floor(s / 86_400)}d ago`;
  return t.toISOString().slice(0, 10);
}

/** Wall-clock time of day, `HH:MM:SS` in the local zone. */
export function clock(time: string | Date): string {
  const t = new Date(time);
  return [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** Shortens `s` to `max` characters, marking the cut. */
export function snippet(s: string, max: number): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : one.slice(0, max - 1).trimEnd() + '…';
}

/** Where a release came from: `object#generation`, `rollback to vN`, or the env change (`env: set A; unset B`). */
export function sourceOf(r: ApiRelease): string {
  if (r.rollbackOf !== undefined) return `rollback to v${r.rollbackOf}`;
  if (r.env) return `env: ${envChangeText(r.env)}`;
  return r.source ? `${r.source.object}#${r.source.generation}` : '-';
}

/** What went wrong with a release, in a few words. */
export function problemOf(r: ApiRelease, max = 60): string {
  if (r.state === 'superseded' && r.supersededBy !== undefined) return `superseded by v${r.supersededBy}`;
  return r.error ? snippet(`${r.error.code}: ${r.error.message}`, max) : '';
}

/** A release's state, with its traffic while it rolls out: `rolling_out 10%`, `verifying 0%`, `rolling_out 10% paused`. */
export function stateOf(r: ApiRelease): string {
  if (!r.rollout || (r.state !== 'verifying' && r.state !== 'rolling_out')) return r.state;
  return `${r.state} ${r.rollout.traffic}%${r.rollout.paused ? ' paused' : ''}`;
}

/** A release's rollout: where traffic stands, the stable revision, the last check and the operator actions. */
export function rolloutText(r: ApiRelease): string {
  const ro = r.rollout;
  if (!ro) return `v${r.release} of ${r.service}: ${r.state}`;
  const lines = [
    `v${r.release} of ${r.service}: ${stateOf(r)} of traffic on ${r.revision ?? '?'} (tag ${ro.tag}${ro.tagUrl ? ` ${ro.tagUrl}` : ''})`,
  ];
  if (r.error) lines[0] = `v${r.release} of ${r.service}: ${r.state}: ${r.error.code}: ${r.error.message}`;
  lines.push(`  stable    v${ro.stable.release} (${ro.stable.revision})`);
  lines.push(
    `  policy    ${ro.policy.strategy}${ro.policy.strategy === 'canary' ? ` ${ro.policy.steps.join(',')} every ${ro.policy.interval}` : ''}`,
  );
  if (ro.lastCheck) lines.push(`  check     ${ro.lastCheck.ok ? 'passed' : 'failed'} at ${ro.lastCheck.traffic}%: ${ro.lastCheck.detail}`);
  for (const c of ro.controls) lines.push(`  ${c.action.padEnd(9)} by ${c.by} at ${c.time}`);
  return lines.join('\n');
}

/** The releases table. */
export function releasesTable(releases: ApiRelease[], now: Date): string {
  if (!releases.length) return 'no releases yet\n';
  return table(
    ['RELEASE', 'STATE', 'TRIGGER', 'CREATED', 'SOURCE', 'REVISION', 'ERROR'],
    releases.map((r) => [`v${r.release}`, stateOf(r), r.trigger, age(r.createTime, now), sourceOf(r), r.revision ?? '-', problemOf(r)]),
  );
}

/** The services table. */
export function servicesTable(services: ApiService[], now: Date): string {
  if (!services.length) return 'dropdeploy manages no services yet: upload a source archive to a source bucket\n';
  return table(
    ['SERVICE', 'DEPLOYED', 'SINCE', 'LATEST', 'REVISION', 'URL'],
    services.map((s) => [
      s.service,
      s.deployed ? `v${s.deployed.release}` : '-',
      s.deployed ? age(s.deployed.time, now) : '-',
      `v${s.lastRelease}`,
      s.deployed?.revision ?? '-',
      s.deployed?.url ?? '-',
    ]),
  );
}

/** `dropdeploy previews`: each preview, the release its tag serves, and its own URL. */
export function previewsTable(service: string, previews: ApiPreview[]): string {
  if (!previews.length) return `${service} has no previews: upload ${service}/previews/<name>.tgz to make one\n`;
  return table(
    ['PREVIEW', 'RELEASE', 'LATEST', 'URL'],
    previews.map((p) => [p.name, p.release !== undefined ? `v${p.release}` : '-', `v${p.latestRelease}`, p.url ?? '-']),
  );
}

/** `dropdeploy status`: the deployed release, and the newest one when it is another. */
export function statusText(service: ApiService, newest: ApiRelease | undefined, now: Date): string {
  const lines: string[] = [];
  const d = service.deployed;
  if (d) {
    lines.push(`${service.service}: v${d.release} deployed ${age(d.time, now)}`);
    if (d.url) lines.push(`  url       ${d.url}`);
    if (d.revision) lines.push(`  revision  ${d.revision}`);
    if (d.image) lines.push(`  image     ${d.image}`);
    // A release deployed to several regions: each one's state and URL.
    if (newest?.release === d.release) for (const t of newest.targets ?? []) lines.push(`  ${targetLine(t)}`);
  } else {
    lines.push(`${service.service}: nothing deployed yet`);
  }
  if (newest && newest.release !== d?.release) {
    const problem = problemOf(newest, 100);
    lines.push(
      `newest: v${newest.release} ${stateOf(newest)} (${newest.trigger}, ${sourceOf(newest)}, ${age(newest.createTime, now)})${problem ? ` ${problem}` : ''}`,
    );
  }
  return lines.join('\n') + '\n';
}

/** One target of a release: `europe-west1 (my-project)  deployed  https://…`. */
function targetLine(t: NonNullable<ApiRelease['targets']>[number]): string {
  return `${`${t.region} (${t.project})`.padEnd(36)} ${t.state.padEnd(11)} ${t.url ?? t.error?.message ?? ''}`.trimEnd();
}

/** One progress line: a state a release reached, with the time and what is new about it. */
export function progressLine(r: ApiRelease, entry: {state: string; time: string; reason?: string}): string {
  const extra =
    entry.state === 'building' && r.buildLogUrl
      ? `build log: ${r.buildLogUrl}`
      : entry.state === 'deployed' && r.url
        ? `${r.url}${r.revision ? ` (revision ${r.revision})` : ''}`
        : (entry.reason ?? '');
  return `${clock(entry.time)}  v${r.release}  ${entry.state.padEnd(13)} ${extra}`.trimEnd();
}

/** An env change by names only: `set A, B; unset C`. */
export function envChangeText(change: {set: Array<{name: string}> | Record<string, string>; unset: string[]}): string {
  const set = Array.isArray(change.set) ? change.set.map((e) => e.name) : Object.keys(change.set);
  const parts = [...(set.length ? [`set ${set.join(', ')}`] : []), ...(change.unset.length ? [`unset ${change.unset.join(', ')}`] : [])];
  return parts.join('; ');
}

/** `dropdeploy env <service>`: one line per variable; a Secret Manager reference as such (never resolved). */
export function envTable(e: ApiEnv): string {
  if (!e.env.length) return `${e.service} has no environment variables; set one with \`dropdeploy env ${e.service} set NAME=VALUE\`\n`;
  return table(
    ['NAME', 'VALUE'],
    e.env.map((v) => [v.name, 'value' in v ? v.value : secretText(v.valueSource.secretKeyRef)]),
  );
}

/** A Secret Manager reference: `(secret db-password, version 3)`. */
export function secretText(ref: {secret: string; version?: string}): string {
  return `(secret ${ref.secret}, version ${ref.version ?? 'latest'})`;
}

/** A service's rollout policy: the fields as the flags name them, and where it comes from. */
export function policyText(p: ApiPolicy): string {
  const {policy: x} = p;
  const from =
    p.source === 'service'
      ? `its own, set by ${p.updatedBy ?? 'unknown'} at ${p.updateTime ?? 'an unknown time'}`
      : 'the default of this installation (DROPDEPLOY_ROLLOUT_POLICY); set one with `dropdeploy policy ' + p.service + ' --strategy …`';
  return (
    table(
      ['FIELD', 'VALUE'],
      [
        ['strategy', x.strategy],
        ['steps', x.steps.join(',')],
        ['interval', x.interval],
        ['check-path', x.check.path],
        ['check-status', String(x.check.expectStatus)],
        ['check-timeout', x.check.timeout],
        ['check-attempts', String(x.check.attempts)],
        ['max-5xx-ratio', String(x.thresholds.max5xxRatio)],
        ['p99-ms', String(x.thresholds.p99Ms)],
        ['min-requests', String(x.thresholds.minRequests)],
        // A policy stored before targets existed has none: the controller's region only.
        ['targets', x.targets?.length ? x.targets.map((t) => (t.project ? `${t.region}@${t.project}` : t.region)).join(',') : 'default'],
        ['target-order', x.targetOrder ?? 'sequential'],
        ['on-target-failure', x.onTargetFailure ?? 'keep'],
      ],
    ) + `policy of ${p.service}: ${from}\n`
  );
}
