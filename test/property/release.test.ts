/**
 * Properties of the release state machine under random sequences of transitions with arbitrary
 * arguments: every step succeeds or is an IllegalTransitionError, terminal states stay, the
 * history only grows and ends in the current state, and the outbox never lists a state twice.
 */
import assert from 'node:assert/strict';
import '../harness/seed'; // fast-check's seed: the run's, printed by the harness
import {describe, it} from 'node:test';
import fc from 'fast-check';
import {
  canTransition,
  IllegalTransitionError,
  markBuildFailed,
  markBuilding,
  markDeployed,
  markDeployFailed,
  markDeploying,
  markRejected,
  markSuperseded,
  newRelease,
  STATES,
  TERMINAL,
  unpublished,
  type Release,
  type State,
  type Transitioned,
} from '../../src/releases/release';

const text = fc.oneof(fc.string(), fc.string({unit: 'binary'}), fc.constantFrom('', ' ', 'b1', 'img@sha256:1'));
const error = fc.record({code: text, message: text});
const now = fc.date({min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true});

/** One transition with arbitrary arguments, named for the failure report. */
type Step = {name: string; apply: (r: Release, at: Date) => Transitioned};
const step: fc.Arbitrary<Step> = fc.oneof(
  fc
    .record({buildId: text, logUrl: fc.option(text, {nil: undefined})})
    .map((b): Step => ({name: `markBuilding(${JSON.stringify(b)})`, apply: (r, at) => markBuilding(r, b, at)})),
  error.map((e): Step => ({name: `markBuildFailed(${JSON.stringify(e)})`, apply: (r, at) => markBuildFailed(r, e, at)})),
  text.map((i): Step => ({name: `markDeploying(${JSON.stringify(i)})`, apply: (r, at) => markDeploying(r, i, at)})),
  fc
    .record({revision: text, url: fc.option(text, {nil: undefined})})
    .map((d): Step => ({name: `markDeployed(${JSON.stringify(d)})`, apply: (r, at) => markDeployed(r, d, at)})),
  error.map((e): Step => ({name: `markDeployFailed(${JSON.stringify(e)})`, apply: (r, at) => markDeployFailed(r, e, at)})),
  fc.integer().map((by): Step => ({name: `markSuperseded(${by})`, apply: (r, at) => markSuperseded(r, by, at)})),
  error.map((e): Step => ({name: `markRejected(${JSON.stringify(e)})`, apply: (r, at) => markRejected(r, e, at)})),
);

const fresh = fc.record({
  service: fc.oneof(fc.constant('hello'), text),
  release: fc.integer({min: 1, max: 1e6}),
  trigger: fc.constantFrom('upload' as const, 'redeploy' as const, 'rollback' as const),
  actor: text,
  image: fc.option(text, {nil: undefined}),
});

/** Sequences of steps, each with its clock, and whether the outbox publishes after it. */
const run = fc.tuple(fresh, now, fc.array(fc.tuple(step, now, fc.boolean()), {maxLength: 25}));

describe('property: release state machine', () => {
  it('random transitions succeed or throw IllegalTransitionError; terminal stays; history grows and ends in the state; the outbox lists each state once', () => {
    fc.assert(
      fc.property(run, ([init, t0, steps]) => {
        let r = newRelease(init, t0);
        assert.equal(r.state, 'accepted');
        for (const [s, at, publish] of steps) {
          const before = r;
          let out: Transitioned | undefined;
          try {
            out = s.apply(before, at);
          } catch (err) {
            assert.ok(err instanceof IllegalTransitionError, `${s.name} from ${before.state} threw ${String(err)}`);
            assert.equal(err.from, before.state);
            assert.equal(err.retryable, false);
            assert.ok(err.message.length > 0);
            assert.ok(!canTransition(err.from, err.to));
          }
          if (out) {
            r = out.release;
            if (!out.changed) assert.equal(r, before, `${s.name}: unchanged means the same record`);
            else {
              assert.ok(canTransition(before.state, r.state), `${s.name}: ${before.state} → ${r.state} is not an allowed move`);
              assert.equal(r.history.length, before.history.length + 1);
            }
          }
          if (TERMINAL.has(before.state)) assert.equal(r.state, before.state, `${s.name} moved terminal ${before.state} to ${r.state}`);
          // The history only grows: the old one is a prefix of the new one.
          assert.ok(r.history.length >= before.history.length);
          assert.deepEqual(r.history.slice(0, before.history.length), before.history);
          assert.equal(r.history.at(-1)?.state, r.state);
          assert.ok(STATES.includes(r.state));
          // The outbox: what is still to publish never repeats a state, and publishing empties it.
          const pending = unpublished(r);
          assert.equal(new Set(pending).size, pending.length, `unpublished lists a state twice: ${pending.join(', ')}`);
          for (const p of pending) assert.ok(!r.published.includes(p) && r.history.some((h) => h.state === p));
          if (publish) r = {...r, published: [...r.published, ...pending]};
          if (publish) assert.deepEqual(unpublished(r), []);
        }
        // A legal path: every consecutive pair of the history is an allowed move.
        for (let i = 1; i < r.history.length; i++) {
          assert.ok(canTransition(r.history[i - 1].state, r.history[i].state), `${r.history[i - 1].state} → ${r.history[i].state}`);
        }
      }),
      {numRuns: 1000},
    );
  });

  it('unpublished never lists a state twice, whatever the history and published lists hold', () => {
    const state = fc.constantFrom<State>(...STATES);
    fc.assert(
      fc.property(fc.array(state, {minLength: 1, maxLength: 12}), fc.array(state, {maxLength: 8}), (hist, published) => {
        const r: Release = {
          ...newRelease({service: 's', release: 1, trigger: 'upload', actor: 'a'}, new Date(0)),
          history: hist.map((s) => ({state: s, time: 't'})),
          published,
        };
        const pending = unpublished(r);
        assert.equal(new Set(pending).size, pending.length);
        for (const p of pending) assert.ok((hist as string[]).includes(p) && !(published as string[]).includes(p));
      }),
      {numRuns: 500},
    );
  });
});
