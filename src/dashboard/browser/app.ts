/**
 * The dashboard page: reads the API every two seconds (same origin, so the same auth as every
 * other caller: none locally, the proxy's ID token through `gcloud run services proxy`), shows
 * it through ../view.ts, and carries out an action after a confirmation dialog.
 */
import {
  announcements,
  errorMessage,
  serviceOfHash,
  serviceView,
  type Action,
  type PreviewJson,
  type ReleaseJson,
  type ServiceJson,
} from '../view.js';
import {h} from './dom.js';
import {renderService, renderServices} from './render.js';

const POLL_MS = 2000;
/** Releases read of the service shown, and of each other one (enough for its card). */
const PAGE = 20;
const CARD_PAGE = 5;

const $ = (id: string) => document.getElementById(id)!;
const dialog = $('confirm') as HTMLDialogElement;

interface Snapshot {
  services: ServiceJson[];
  releases: Record<string, ReleaseJson[]>;
  previews: Record<string, PreviewJson[]>;
  /** Services with more releases than were read. */
  more: string[];
}

let last: Snapshot | undefined;
let lastText = '';
let lastRender = 0;
let pending: {action: Action; openerId: string} | undefined;

async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(path, {headers: {accept: 'application/json'}, cache: 'no-store'});
  const body: unknown = await r.json().catch(() => undefined);
  if (!r.ok) throw new Error(`GET ${path}: ${errorMessage(r.status, body)}`);
  return body as T;
}

/** One read of the API: the services, and releases (and previews) of the one shown. */
async function read(): Promise<Snapshot> {
  const {services} = await getJson<{services: ServiceJson[]}>('/v1/services');
  const snap: Snapshot = {services, releases: {}, previews: {}, more: []};
  const shown = selectedService(snap);
  await Promise.all(
    services.map(async (s) => {
      const base = `/v1/services/${encodeURIComponent(s.service)}`;
      const full = s.service === shown;
      const [rel, prev] = await Promise.all([
        getJson<{releases: ReleaseJson[]; nextPageToken?: string}>(`${base}/releases?pageSize=${full ? PAGE : CARD_PAGE}`),
        full ? getJson<{previews: PreviewJson[]}>(`${base}/previews`) : undefined,
      ]);
      snap.releases[s.service] = rel.releases;
      if (prev) snap.previews[s.service] = prev.previews;
      if (rel.nextPageToken) snap.more.push(s.service);
    }),
  );
  return snap;
}

function selectedService(snap: Pick<Snapshot, 'services'>): string | undefined {
  const wanted = serviceOfHash(location.hash);
  return snap.services.find((s) => s.service === wanted)?.service ?? snap.services[0]?.service;
}

/** The connection line: it changes (and is announced, role=status) only when the state does. */
function setConnection(text: string, ok: boolean, title = ''): void {
  const el = $('connection');
  if (el.textContent !== text) el.textContent = text;
  el.className = ok ? 'ok' : 'failed';
  el.title = title;
}

function render(snap: Snapshot): void {
  const now = new Date();
  const views = snap.services.map((s) => serviceView(s, snap.releases[s.service] ?? [], snap.previews[s.service] ?? []));
  const selected = selectedService(snap);
  // A refresh replaces the elements: the focused one is found again by its id.
  const focused = document.activeElement?.id;
  $('services').replaceChildren(renderServices(views, selected, now));
  const view = views.find((v) => v.name === selected);
  $('detail').replaceChildren(...(view ? [renderService(view, now, confirmAction, snap.more.includes(view.name) ? PAGE : undefined)] : []));
  if (focused && document.activeElement?.id !== focused) document.getElementById(focused)?.focus();
  lastRender = Date.now();
}

function announce(lines: string[]): void {
  const live = $('live');
  for (const line of lines) live.append(h('p', {}, line));
  while (live.childElementCount > 5) live.firstElementChild!.remove();
}

function notice(text: string, ok: boolean): void {
  const el = $('notice');
  el.replaceChildren(h('p', {class: ok ? 'ok' : 'failed'}, text));
}

async function refresh(): Promise<void> {
  // A hidden tab asks nothing (each read is 1 + 2 requests per service); it reads again when shown.
  if (document.hidden) return;
  try {
    const snap = await read();
    const text = JSON.stringify(snap);
    const all = (s: Snapshot) => Object.values(s.releases).flat();
    announce(announcements(last ? all(last) : undefined, all(snap)));
    if (text !== lastText || Date.now() - lastRender > 10_000) render(snap);
    last = snap;
    lastText = text;
    setConnection(`Live: updates every ${POLL_MS / 1000} s`, true, `last read ${new Date().toLocaleTimeString()}`);
  } catch (err) {
    setConnection(`Cannot read the API (${err instanceof Error ? err.message : String(err)}); retrying every ${POLL_MS / 1000} s`, false);
  }
}

/** 128 random bits in hex (crypto.randomUUID exists only in secure contexts; loopback and the proxy are, a LAN name is not). */
function randomKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

function confirmAction(action: Action, opener: HTMLButtonElement): void {
  pending = {action, openerId: opener.id};
  $('confirm-text').textContent = action.confirm;
  $('confirm-ok').textContent = action.label;
  dialog.showModal();
}

async function carryOut(action: Action): Promise<void> {
  const ok = $('confirm-ok') as HTMLButtonElement;
  ok.disabled = true;
  try {
    // One key per confirmation: a repeated or retried request makes no second release.
    const r = await fetch(action.path, {
      method: action.method,
      headers: {'content-type': 'application/json', accept: 'application/json', 'idempotency-key': `dd-ui-${randomKey()}`},
      body: JSON.stringify(action.body),
    });
    const body: unknown = await r.json().catch(() => undefined);
    if (!r.ok) notice(`${action.label} failed: ${errorMessage(r.status, body)}`, false);
    else {
      const made = body as Partial<ReleaseJson>;
      // Its state from here on is the timeline's (live); this says only what was started.
      notice(`${action.label}: started release v${made.release ?? '?'} of ${made.service ?? '?'}`, true);
    }
  } catch (err) {
    notice(`${action.label} failed: ${err instanceof Error ? err.message : String(err)}`, false);
  } finally {
    ok.disabled = false;
  }
  await refresh();
}

$('confirm-cancel').addEventListener('click', () => dialog.close('cancel'));
$('confirm-ok').addEventListener('click', () => dialog.close('ok'));
dialog.addEventListener('close', () => {
  const p = pending;
  pending = undefined;
  if (!p) return;
  // The opener may have been replaced by a refresh meanwhile: focus returns to its successor.
  document.getElementById(p.openerId)?.focus();
  if (dialog.returnValue === 'ok') void carryOut(p.action);
});
window.addEventListener('hashchange', () => void refresh());
document.addEventListener('visibilitychange', () => void refresh());

void refresh();
setInterval(() => void refresh(), POLL_MS);
