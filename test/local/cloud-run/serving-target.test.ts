import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import type {TrafficTargetStatus} from '../../../local/cloud-run/messages';
import {servingTarget, type ServingView} from '../../../local/cloud-run/serving-target';

const running = new Set(['a', 'b', 'c']);
const view = (trafficStatuses: TrafficTargetStatus[] | undefined, latestReadyRevision?: string): ServingView => ({
  getService: (name) => (name === 's' ? {trafficStatuses, latestReadyRevision} : undefined),
  revisionUrl: (rev) => (running.has(rev) ? `http://${rev}` : undefined),
});
const SPLIT: TrafficTargetStatus[] = [
  {revision: 'a', percent: 30},
  {revision: 'b', percent: 70},
  {revision: 'c', percent: 0, tag: 'candidate'},
  {revision: 'gone', percent: 0, tag: 'stopped'},
];

describe('servingTarget', () => {
  const cases: Array<{name: string; input: {view: ServingView; route: {service: string; tag?: string}; random?: number}; want: unknown}> = [
    {
      name: 'the split picks by percentage (low draw)',
      input: {view: view(SPLIT), route: {service: 's'}, random: 0.1},
      want: {url: 'http://a', revision: 'a'},
    },
    {
      name: 'the split picks by percentage (high draw)',
      input: {view: view(SPLIT), route: {service: 's'}, random: 0.5},
      want: {url: 'http://b', revision: 'b'},
    },
    {
      name: 'a 0 % tagged revision never gets service traffic',
      input: {view: view(SPLIT), route: {service: 's'}, random: 0.999},
      want: {url: 'http://b', revision: 'b'},
    },
    {
      name: 'a tag URL reaches its revision at 0 %',
      input: {view: view(SPLIT), route: {service: 's', tag: 'candidate'}},
      want: {url: 'http://c', revision: 'c'},
    },
    {
      name: 'a tag whose revision does not run: no ready revision',
      input: {view: view(SPLIT), route: {service: 's', tag: 'stopped'}},
      want: undefined,
    },
    {name: 'a removed tag answers 404', input: {view: view(SPLIT.slice(0, 2)), route: {service: 's', tag: 'candidate'}}, want: 404},
    {name: 'an unknown service', input: {view: view(SPLIT), route: {service: 'x'}}, want: undefined},
    {name: 'a tag of an unknown service answers 404', input: {view: view(SPLIT), route: {service: 'x', tag: 'candidate'}}, want: 404},
    {
      name: 'no traffic statuses yet: the latest ready revision',
      input: {view: view(undefined, 'projects/p/locations/l/services/s/revisions/a'), route: {service: 's'}},
      want: {url: 'http://a', revision: 'a'},
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const got = await servingTarget(c.input.view, c.input.route, () => c.input.random ?? 0);
      if (c.want === 404) {
        assert.equal((got as {status: number}).status, 404);
        assert.match((got as {message: string}).message, /no traffic target tagged 'candidate'/);
      } else assert.deepEqual(got, c.want);
    });
  }

  it('wakes the chosen revision before answering', async () => {
    const woken: string[] = [];
    const v = {...view(SPLIT), wake: (rev: string) => Promise.resolve(void woken.push(rev))};
    await servingTarget(v, {service: 's', tag: 'candidate'});
    assert.deepEqual(woken, ['c']);
  });
});
