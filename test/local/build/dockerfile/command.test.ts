import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {commandArgv, nodeEntrypointArgv} from '../../../../local/build/dockerfile/command';

// What a container of the node image has: npm and node on PATH, a plain index.js and an executable start.sh in the WORKDIR.
const probe = {
  isCommand: (name: string) => ['node', 'npm', 'sh', './start.sh'].includes(name),
  isPlainFile: (name: string) => name === 'index.js' || name === './index.js',
};

describe("the node image's docker-entrypoint.sh, applied to CMD", () => {
  const rows: [string[], string[]][] = [
    [
      ['node', 'index.js'],
      ['node', 'index.js'],
    ],
    [
      ['npm', 'start'],
      ['npm', 'start'],
    ],
    [['index.js'], ['node', 'index.js']],
    [['./index.js'], ['node', './index.js']],
    [['--version'], ['node', '--version']],
    [['./start.sh'], ['./start.sh']],
    [
      ['missing-tool', 'x'],
      ['node', 'missing-tool', 'x'],
    ],
    [[], ['node']],
  ];
  for (const [cmd, want] of rows) {
    it(`${JSON.stringify(cmd)} runs ${JSON.stringify(want)}`, () => assert.deepEqual(nodeEntrypointArgv(cmd, probe), want));
  }
});

describe('exec and shell forms', () => {
  it('takes a JSON array of strings as the exec form, anything else through the shell', () => {
    const sh = ['/bin/sh', '-c'];
    assert.deepEqual(commandArgv(' ["node", "a b.js"] ', sh), {argv: ['node', 'a b.js'], exec: true});
    assert.deepEqual(commandArgv('node a.js', sh), {argv: ['/bin/sh', '-c', 'node a.js'], exec: false});
    // Not valid JSON, or not all strings: Docker runs it through the shell too.
    assert.deepEqual(commandArgv('[node, a.js]', sh), {argv: ['/bin/sh', '-c', '[node, a.js]'], exec: false});
    assert.deepEqual(commandArgv('["node", 1]', sh), {argv: ['/bin/sh', '-c', '["node", 1]'], exec: false});
  });
});
