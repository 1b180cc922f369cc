import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {ExtractError} from '../../../local/build/extract-limits';
import type {ArchiveEntry} from '../../../local/build/archive-entry';
import {
  checkPathLength,
  linkRefusal,
  linkTarget,
  NAME_MAX,
  PATH_BYTES_MAX,
  resolveLink,
  safeRelative,
  type LinkResolution,
} from '../../../local/build/tree-policy';

describe('resolveLink follows every link in the tree, existing target or not', () => {
  const cases: Array<{name: string; links: Record<string, string>; link: string; want: LinkResolution}> = [
    {
      name: 'a plain link beside its target',
      links: {'lib/alias.js': 'a.js'},
      link: 'lib/alias.js',
      want: {kind: 'inside', path: 'lib/a.js'},
    },
    {name: 'a dangling link inside', links: {current: 'releases/v2'}, link: 'current', want: {kind: 'inside', path: 'releases/v2'}},
    {name: 'a link to the root', links: {'sub/up': '..'}, link: 'sub/up', want: {kind: 'inside', path: ''}},
    {
      name: '.. through a link to the root (dangling)',
      links: {'sub/up': '..', out: 'sub/up/../missing'},
      link: 'out',
      want: {kind: 'outside', via: 'sub/up'},
    },
    {
      name: 'a link to a link that leads out',
      links: {a: 'b', here: '.', b: 'here/../outside'},
      link: 'a',
      want: {kind: 'outside', via: 'here'},
    },
    {
      name: 'a chain that climbs back in',
      links: {'a/b/deep': '../..', x: 'a/b/deep/a/b/../../y'},
      link: 'x',
      want: {kind: 'inside', path: 'y'},
    },
    {name: 'a link to a dir link then ..', links: {d: 'sub/inner', x: 'd/../../y'}, link: 'x', want: {kind: 'inside', path: 'y'}},
    {
      name: 'a link through a name that is not a link yet',
      links: {x: 'node_modules/.bin/../../..'},
      link: 'x',
      want: {kind: 'outside', via: undefined},
    },
    {name: 'an absolute target met on the way', links: {x: 'y/z', y: '/etc'}, link: 'x', want: {kind: 'outside', via: 'y'}},
    {name: 'a Windows separator in a target', links: {here: '.', x: 'here\\..\\y'}, link: 'x', want: {kind: 'outside', via: 'here'}},
    {name: 'a loop', links: {a: 'b', b: 'a'}, link: 'a', want: {kind: 'endless', why: 'more than 40 links in a row (a loop?)'}},
    {name: 'a self loop', links: {a: 'a/x'}, link: 'a', want: {kind: 'endless', why: 'more than 40 links in a row (a loop?)'}},
    {
      name: 'a target of endless ./',
      links: {a: './'.repeat(2047), b: 'a/a/a'},
      link: 'b',
      want: {kind: 'endless', why: 'more than 4096 path steps'},
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(resolveLink(c.link, new Map(Object.entries(c.links))), c.want));
  }
});

describe('linkRefusal words what was wrong', () => {
  const cases: Array<{name: string; r: LinkResolution; want: RegExp | undefined}> = [
    {name: 'inside: none', r: {kind: 'inside', path: 'x'}, want: undefined},
    {
      name: 'outside through a link',
      r: {kind: 'outside', via: 'sub/up'},
      want: /^entry "e" is a symlink to "t", which resolves outside the archive \(through the symlink "sub\/up"\)$/,
    },
    {name: 'outside by itself', r: {kind: 'outside'}, want: /^entry "e" is a symlink to "t", which resolves outside the archive$/},
    {name: 'endless', r: {kind: 'endless', why: 'a loop'}, want: /^entry "e" is a symlink to "t", which never resolves: a loop$/},
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = linkRefusal('e', 't', c.r);
      if (!c.want) return assert.equal(got, undefined);
      assert.ok(got instanceof ExtractError);
      assert.equal(got.entry, 'e');
      assert.match(got.message, c.want);
    });
  }
});

describe('names and paths', () => {
  const long = 'n'.repeat(NAME_MAX + 1);
  const cases: Array<{name: string; input: string; want: string | RegExp}> = [
    {name: 'a plain path', input: 'a/b.js', want: 'a/b.js'},
    {name: './ and doubled slashes', input: './a//b/./c', want: 'a/b/c'},
    {name: '.. that stays inside', input: 'a/../b', want: 'b'},
    {name: 'the root', input: './', want: ''},
    {name: 'a name of exactly 255 bytes', input: `d/${'n'.repeat(NAME_MAX)}`, want: `d/${'n'.repeat(NAME_MAX)}`},
    {
      name: 'a name of 256 bytes',
      input: `d/${long}`,
      want: /^entry "d\/n{256}" has a file or folder name of 256 bytes; names may be at most 255 bytes: shorten it$/,
    },
    {name: '255 characters that are 510 bytes', input: 'é'.repeat(255), want: /has a file or folder name of 510 bytes/},
    {name: '.. out', input: 'a/../../x', want: /^entry "a\/\.\.\/\.\.\/x" points outside the archive root/},
    {name: 'absolute', input: '/etc/x', want: /is an absolute path/},
    {name: 'NUL', input: 'a\0b', want: /contains a NUL byte/},
  ];
  for (const c of cases) {
    it(`safeRelative: ${c.name}`, () => {
      if (typeof c.want === 'string') return assert.equal(safeRelative(c.input), c.want);
      assert.throws(
        () => safeRelative(c.input),
        (err: unknown) => err instanceof ExtractError && (c.want as RegExp).test(err.message) && err.entry === c.input,
      );
    });
  }

  it('checkPathLength counts the destination too, in bytes', () => {
    const dest = '/tmp/build/src';
    const fits = 'x'.repeat(PATH_BYTES_MAX - dest.length - 1);
    assert.doesNotThrow(() => checkPathLength(dest, fits, fits));
    assert.throws(
      () => checkPathLength(dest, `${fits}y`, 'entry-name'),
      new RegExp(
        `^ExtractError: entry "entry-name" would have a path of ${PATH_BYTES_MAX + 1} bytes in the build folder; paths may be at most ${PATH_BYTES_MAX} bytes`,
      ),
    );
  });

  const link = (
    name: string,
    linkTarget: string,
    type: ArchiveEntry['type'] = 'symlink',
  ): Pick<ArchiveEntry, 'name' | 'type' | 'mode' | 'linkTarget'> => ({name, type, mode: 0o777, linkTarget});
  const linkCases: Array<{name: string; entry: Pick<ArchiveEntry, 'name' | 'type' | 'mode' | 'linkTarget'>; want: string | RegExp}> = [
    {name: 'a symlink beside its target', entry: link('lib/a', 'b.js'), want: 'lib/b.js'},
    {name: 'a symlink up and back in', entry: link('lib/a', '../x'), want: 'x'},
    {
      name: 'a symlink out',
      entry: link('lib/a', '../../x'),
      want: /^entry "lib\/a" is a symlink to "\.\.\/\.\.\/x", which points outside the archive$/,
    },
    {name: 'a hard link from the root', entry: link('lib/a', 'lib/b', 'hardlink'), want: 'lib/b'},
    {name: 'a hard link out', entry: link('a', '../x', 'hardlink'), want: /is a hard link to "\.\.\/x", which points outside/},
    {name: 'no target', entry: link('a', ''), want: /is a symlink with no target/},
    {name: 'an absolute target', entry: link('a', '/etc/passwd'), want: /to the absolute path "\/etc\/passwd"/},
    {
      name: 'a target longer than a path may be',
      entry: link('a', 'x/'.repeat(2048)),
      want: /^entry "a" is a symlink with a target of 4096 bytes; at most \d+ are allowed$/,
    },
  ];
  for (const c of linkCases) {
    it(`linkTarget: ${c.name}`, () => {
      const rel = safeRelative(c.entry.name);
      if (typeof c.want === 'string') return assert.equal(linkTarget(c.entry, rel), c.want);
      assert.throws(
        () => linkTarget(c.entry, rel),
        (err: unknown) => err instanceof ExtractError && (c.want as RegExp).test(err.message),
      );
    });
  }
});
