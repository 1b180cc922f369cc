import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {parseStartArgs, StartHelp, StartUsageError} from '../../local/start-args';

describe("npm start's flags", () => {
  const ok: Array<{argv: string[]; want: Partial<ReturnType<typeof parseStartArgs>>}> = [
    {argv: [], want: {reconcileSeconds: 10, fresh: false, clearBuildCache: false, notifications: false, verbose: false}},
    {argv: ['--fresh'], want: {fresh: true}},
    {argv: ['--clear-build-cache'], want: {clearBuildCache: true, fresh: false}},
    {argv: ['--reconcile-seconds', '0'], want: {reconcileSeconds: 0}},
    {
      argv: ['--reconcile-seconds=3600', '--verbose', '--notifications'],
      want: {reconcileSeconds: 3600, verbose: true, notifications: true},
    },
  ];
  for (const c of ok) {
    it(`${JSON.stringify(c.argv)} parses`, () => {
      const got = parseStartArgs(c.argv);
      for (const [k, v] of Object.entries(c.want)) assert.equal(got[k as keyof typeof got], v, k);
    });
  }

  const refused: Array<{argv: string[]; want: RegExp}> = [
    {argv: ['--frseh'], want: /unknown option '--frseh'\n\(Did you mean --fresh\?\)/},
    {argv: ['--reconcile-second', '5'], want: /Did you mean --reconcile-seconds\?/},
    {argv: ['--reconcile-seconds', '-1'], want: /"-1" is not a whole number of seconds from 0 to 3600/},
    {argv: ['--reconcile-seconds', '1.5'], want: /"1.5" is not a whole number/},
    {argv: ['--reconcile-seconds'], want: /argument missing/},
    {argv: ['fresh'], want: /too many arguments/},
    {argv: ['--clear-build-cahce'], want: /Did you mean --clear-build-cache\?/},
  ];
  for (const c of refused) {
    it(`${JSON.stringify(c.argv)} is refused with the usage`, () => {
      assert.throws(
        () => parseStartArgs(c.argv),
        (err: unknown) => err instanceof StartUsageError && c.want.test(err.message) && err.usage.includes('--fresh'),
      );
    });
  }

  it('--help gives the usage', () => {
    assert.throws(
      () => parseStartArgs(['--help']),
      (err: unknown) => err instanceof StartHelp && /--reconcile-seconds <n>/.test(err.text),
    );
  });
});
