/**
 * The view model (../view.ts) as elements. No state and no requests here: app.ts owns both.
 */
import {ago, shortDigest, type Action, type ReleaseView, type ServiceView, type TargetView, type Tone} from '../view.js';
import {h, link, time} from './dom.js';

/** Called when an action's button is pressed (app.ts asks for confirmation, then calls the API). */
export type OnAction = (action: Action, opener: HTMLButtonElement) => void;

const badge = (text: string, tone: Tone) => h('span', {class: `badge ${tone}`}, text);

function actionButton(a: Action, id: string, onAction: OnAction): HTMLButtonElement {
  const b = h('button', {type: 'button', id, class: a.kind === 'abort' ? 'danger' : undefined, 'data-action': a.kind}, a.label);
  b.addEventListener('click', () => onAction(a, b));
  return b;
}

function field(name: string, ...value: (Node | string)[]): HTMLElement[] {
  return [h('dt', {}, name), h('dd', {}, ...value)];
}

/** A release's targets (regions / projects), the primary first; `full` adds revision, detail and error. */
function targetList(targets: TargetView[], full: boolean): HTMLElement {
  return h(
    'ul',
    {class: 'targets'},
    targets.map((t) =>
      h(
        'li',
        {},
        h('span', {class: 'target-name'}, t.name),
        ' ',
        badge(t.state, t.tone),
        full && t.revision ? [' ', h('code', {}, t.revision)] : null,
        t.url ? [' ', link(t.url, t.url)] : null,
        full && t.detail ? h('span', {class: 'detail'}, ` ${t.detail}`) : null,
        full && t.error ? h('p', {class: 'error'}, t.error) : null,
      ),
    ),
  );
}

/** The overview: one card per service, each linking to its timeline. */
export function renderServices(services: ServiceView[], selected: string | undefined, now: Date): HTMLElement {
  if (!services.length)
    return h(
      'p',
      {class: 'empty'},
      'No service yet. Drop an archive into the bucket (npm run drop -- examples/hello-app) and it appears here.',
    );
  return h(
    'ul',
    {class: 'services'},
    services.map((s) =>
      h(
        'li',
        {class: `card${s.name === selected ? ' selected' : ''}`},
        h(
          'h3',
          {},
          h(
            'a',
            {href: `#${encodeURIComponent(s.name)}`, id: `link-${s.name}`, 'aria-current': s.name === selected ? 'true' : undefined},
            s.name,
          ),
          ' ',
          badge(s.status, s.tone),
        ),
        h(
          'dl',
          {},
          field('Serving', s.serving ? `${s.serving.label}${s.serving.trigger ? ` (${s.serving.trigger})` : ''}` : 'nothing'),
          // Several targets: each region's own URL (the primary's, the main URL, first).
          s.serving?.targets
            ? field('Regions', targetList(s.serving.targets, false))
            : s.serving?.url
              ? field('URL', link(s.serving.url, s.serving.url))
              : [],
          s.serving?.digest ? field('Digest', h('code', {title: s.serving.digest}, shortDigest(s.serving.digest))) : [],
          s.lastChange
            ? field(
                'Last change',
                `${s.lastChange.label}, `,
                time(s.lastChange.time, ago(s.lastChange.time, now)),
                ` by ${s.lastChange.actor}`,
              )
            : [],
        ),
      ),
    ),
  );
}

function renderRelease(r: ReleaseView, now: Date, onAction: OnAction): HTMLElement {
  const facts: HTMLElement[] = [
    ...field('Trigger', `${r.trigger} by ${r.actor}`),
    ...field('Created', time(r.createTime, `${ago(r.createTime, now)}`)),
  ];
  if (r.source) facts.push(...field('Source', h('code', {}, r.source), r.generation ? ` generation ${r.generation}` : ''));
  if (r.digest) facts.push(...field('Digest', h('code', {title: r.image ?? r.digest}, r.digest)));
  if (r.buildLogUrl) facts.push(...field('Build log', link(r.buildLogUrl, 'open the build log')));
  if (r.revision) facts.push(...field('Revision', h('code', {}, r.revision)));
  if (r.url) facts.push(...field('URL', link(r.url, r.url)));
  if (r.targets) facts.push(...field('Targets', targetList(r.targets, true)));
  if (r.preview)
    facts.push(...field('Preview', r.preview.name, r.preview.url ? ' ' : '', r.preview.url ? link(r.preview.url, r.preview.url) : ''));
  const rollout = r.rollout
    ? h(
        'div',
        {class: 'rollout'},
        h('label', {for: `${r.id}-progress`}, `Rollout: ${r.rollout.traffic} % of traffic on ${r.label}, the rest on ${r.rollout.stable}`),
        h('progress', {id: `${r.id}-progress`, max: 100, value: r.rollout.traffic}, `${r.rollout.traffic} %`),
        [r.rollout.paused, r.rollout.pending, r.rollout.lastCheck].filter(Boolean).map((t) => h('p', {}, t)),
      )
    : null;
  return h(
    'li',
    {class: `release ${r.tone}`, id: r.id},
    h(
      'article',
      {'aria-labelledby': `${r.id}-title`},
      h(
        'h4',
        {id: `${r.id}-title`},
        `${r.label} `,
        badge(r.state, r.tone),
        r.serving ? [' ', badge('serving', 'ok')] : null,
        h('span', {class: 'what'}, ` ${r.what}`),
      ),
      r.error ? h('p', {class: 'error'}, r.error) : null,
      h('dl', {}, facts),
      rollout,
      h(
        'ol',
        {class: 'steps', 'aria-label': `history of ${r.label}`},
        r.steps.map((s) =>
          h(
            'li',
            {class: s.tone},
            h('span', {class: 'state'}, s.state),
            ' ',
            time(s.time, s.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z')),
            s.detail ? h('span', {class: 'detail'}, ` ${s.detail}`) : null,
          ),
        ),
      ),
      r.actions.length
        ? h(
            'div',
            {class: 'actions'},
            r.actions.map((a) => actionButton(a, `${r.id}-${a.kind}`, onAction)),
          )
        : null,
    ),
  );
}

/** One service's section: its actions, previews and release timeline (`cut`: only that many newest were read). */
export function renderService(s: ServiceView, now: Date, onAction: OnAction, cut?: number): HTMLElement {
  return h(
    'section',
    {id: s.id, 'aria-labelledby': `${s.id}-title`},
    h('h2', {id: `${s.id}-title`}, `Releases of ${s.name}`),
    s.actions.length
      ? h(
          'div',
          {class: 'actions'},
          s.actions.map((a) => actionButton(a, `${s.id}-${a.kind}`, onAction)),
        )
      : null,
    s.previews.length
      ? h(
          'div',
          {class: 'previews'},
          h('h3', {}, 'Previews'),
          h(
            'ul',
            {},
            s.previews.map((p) => h('li', {}, `${p.name}: ${p.label} `, p.url ? link(p.url, p.url) : '')),
          ),
        )
      : null,
    h(
      'ol',
      {class: 'timeline', 'aria-label': `releases of ${s.name}, newest first`},
      s.timeline.map((r) => renderRelease(r, now, onAction)),
    ),
    cut ? h('p', {class: 'empty'}, `The newest ${cut} releases are shown; npx dropdeploy releases ${s.name} lists them all.`) : null,
  );
}
