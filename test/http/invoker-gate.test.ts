import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {PermanentError, RetryableError} from '../../src/errors';
import {ApiError} from '../../src/http/errors';
import {InvokerGate, publicInvokers} from '../../src/http/invoker-gate';
import type {InvokerAccess} from '../../src/ports';

const access = (bindings: InvokerAccess['bindings'], invokerIamDisabled = false): InvokerAccess => ({bindings, invokerIamDisabled});
const b = (role: string, members: string[], conditional = false) => ({role, members, conditional});

describe('publicInvokers (who lets anyone invoke the service)', () => {
  const table: Array<{name: string; input: InvokerAccess; want: string[]}> = [
    {name: 'no bindings', input: access([]), want: []},
    {
      name: 'named invokers only',
      input: access([
        b('roles/run.invoker', ['user:ops@example.com', 'serviceAccount:ci@p.iam.gserviceaccount.com', 'group:ops@example.com']),
      ]),
      want: [],
    },
    {
      name: 'allUsers as invoker',
      input: access([b('roles/run.invoker', ['user:ops@example.com', 'allUsers'])]),
      want: ['allUsers (roles/run.invoker)'],
    },
    {
      name: 'allAuthenticatedUsers as invoker',
      input: access([b('roles/run.invoker', ['allAuthenticatedUsers'])]),
      want: ['allAuthenticatedUsers (roles/run.invoker)'],
    },
    {
      name: 'both, and in another case',
      input: access([b('roles/run.invoker', ['ALLUSERS', 'allauthenticatedusers'])]),
      want: ['ALLUSERS (roles/run.invoker)', 'allauthenticatedusers (roles/run.invoker)'],
    },
    {
      name: 'a conditional public binding still counts',
      input: access([b('roles/run.invoker', ['allUsers'], true)]),
      want: ['allUsers (roles/run.invoker, with a condition)'],
    },
    {
      name: 'roles that include run.routes.invoke',
      input: access([
        b('roles/run.admin', ['allUsers']),
        b('roles/run.developer', ['allUsers']),
        b('roles/run.servicesInvoker', ['allUsers']),
        b('roles/editor', ['allUsers']),
        b('roles/owner', ['allUsers']),
      ]),
      want: [
        'allUsers (roles/run.admin)',
        'allUsers (roles/run.developer)',
        'allUsers (roles/run.servicesInvoker)',
        'allUsers (roles/editor)',
        'allUsers (roles/owner)',
      ],
    },
    {
      name: 'a custom role may include it too (its permissions are not visible here)',
      input: access([b('projects/p/roles/caller', ['allUsers'])]),
      want: ['allUsers (projects/p/roles/caller)'],
    },
    {
      name: 'a public read-only role does not let anyone invoke',
      input: access([b('roles/run.viewer', ['allUsers']), b('roles/viewer', ['allAuthenticatedUsers'])]),
      want: [],
    },
    {name: 'the invoker check switched off', input: access([], true), want: ['invokerIamDisabled (Cloud Run checks no caller)']},
    {
      name: 'principals that only look public',
      input: access([b('roles/run.invoker', ['user:allUsers@example.com', 'domain:allusers.example'])]),
      want: [],
    },
  ];
  for (const c of table) it(c.name, () => assert.deepEqual(publicInvokers(c.input), c.want));
});

describe('InvokerGate (the check once per instance, cached when private)', () => {
  const resource = 'projects/p/locations/r/services/dropdeploy-api';
  function gate(answers: Array<InvokerAccess | Error>) {
    let t = 0;
    const calls = {n: 0};
    const g = new InvokerGate(
      () => {
        const a = answers[Math.min(calls.n++, answers.length - 1)];
        return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
      },
      resource,
      () => new Date(t),
      5000,
    );
    return {
      g,
      calls,
      advance: (ms: number) => {
        t += ms;
      },
    };
  }
  const refused = (p: Promise<unknown>, message: RegExp) =>
    assert.rejects(
      p,
      (e: unknown) => e instanceof ApiError && e.httpStatus === 503 && e.status === 'UNAVAILABLE' && message.test(e.message),
    );

  it('private: checked once, then never again for this instance', async () => {
    const {g, calls} = gate([access([b('roles/run.invoker', ['user:ops@example.com'])]), access([b('roles/run.invoker', ['allUsers'])])]);
    await g.check();
    await g.check();
    assert.equal(calls.n, 1);
  });
  it('public: 503 saying why and what to do; checked again only after a pause', async () => {
    const {g, calls, advance} = gate([access([b('roles/run.invoker', ['allUsers'])]), access([])]);
    await refused(
      g.check(),
      /allUsers \(roles\/run\.invoker\).*remove-iam-policy-binding dropdeploy-api --region=r --project=p --member=allUsers --role=roles\/run\.invoker/,
    );
    await refused(g.check(), /allUsers/);
    assert.equal(calls.n, 1, 'no IAM read per request while public');
    advance(5000);
    await g.check();
    assert.equal(calls.n, 2);
  });
  it('the invoker check off: 503 naming the setting to turn back on', async () => {
    const {g} = gate([access([], true)]);
    await refused(g.check(), /--invoker-iam-check/);
  });
  it('a failed check: 503, not cached — the next request checks again', async () => {
    const {g, calls} = gate([new RetryableError('Cloud Run GetIamPolicy failed with UNAVAILABLE: x'), access([])]);
    await refused(g.check(), /could not confirm.*UNAVAILABLE/);
    await g.check();
    assert.equal(calls.n, 2);
  });
  it('a permission the API lacks: 503 naming it', async () => {
    const {g} = gate([new PermanentError('Cloud Run GetIamPolicy failed with PERMISSION_DENIED: denied', 'PERMISSION_DENIED')]);
    await refused(g.check(), /run\.services\.getIamPolicy/);
  });
  it('its service not found: 503 naming K_SERVICE, DROPDEPLOY_PROJECT and DROPDEPLOY_REGION', async () => {
    const {g} = gate([new PermanentError('Cloud Run GetIamPolicy failed with NOT_FOUND: gone', 'NOT_FOUND')]);
    await refused(g.check(), /K_SERVICE.*DROPDEPLOY_PROJECT.*DROPDEPLOY_REGION/);
  });
  it('concurrent first requests share one check', async () => {
    const {g, calls} = gate([access([])]);
    await Promise.all([g.check(), g.check(), g.check()]);
    assert.equal(calls.n, 1);
  });
});
