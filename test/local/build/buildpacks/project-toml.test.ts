import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {parseProjectToml} from '../../../../local/build/buildpacks/project-toml';
import {parseYarnrc} from '../../../../local/build/buildpacks/read-source';

describe('parseProjectToml reads the build env as pack does', () => {
  const cases: Array<{name: string; toml: string; want: Array<{name: string; value: string}>}> = [
    {name: 'no build env', toml: '[_]\nschema-version = "0.2"\n', want: []},
    {
      name: 'schema 0.1: [[build.env]]',
      toml: '[[build.env]]\nname = "GOOGLE_FUNCTION_TARGET"\nvalue = "greet"\n\n[[build.env]]\nname = "NODE_ENV"\nvalue = "development"\n',
      want: [
        {name: 'GOOGLE_FUNCTION_TARGET', value: 'greet'},
        {name: 'NODE_ENV', value: 'development'},
      ],
    },
    {
      name: 'schema 0.2: [[io.buildpacks.build.env]]',
      toml: '[_]\nschema-version = "0.2"\n\n[[io.buildpacks.build.env]]\nname = "GOOGLE_NODE_RUN_SCRIPTS"\nvalue = ""\n',
      want: [{name: 'GOOGLE_NODE_RUN_SCRIPTS', value: ''}],
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(parseProjectToml(c.toml), c.want));

  const bad: Array<{name: string; toml: string; want: RegExp}> = [
    {name: 'not TOML', toml: '[[build.env]\nname = ', want: /project\.toml is not valid TOML: /},
    {
      name: 'a value that is not a string',
      toml: '[[build.env]]\nname = "N"\nvalue = 3\n',
      want: /\[\[build\.env\]\] entry 1 needs a name and a string value/,
    },
    {
      name: 'env as a table, not an array of tables',
      toml: '[build.env]\nname = "N"\nvalue = "v"\n',
      want: /build\.env must be an array of tables/,
    },
  ];
  for (const c of bad) it(`refuses ${c.name}`, () => assert.throws(() => parseProjectToml(c.toml), c.want));
});

describe('parseYarnrc', () => {
  it('reads nodeLinker and the plugins', () => {
    assert.deepEqual(parseYarnrc('nodeLinker: "node-modules"\nplugins:\n  - path: .yarn/plugins/@yarnpkg/plugin-workspace-tools.cjs\n'), {
      nodeLinker: 'node-modules',
      plugins: ['@yarnpkg/plugin-workspace-tools'],
    });
    assert.deepEqual(parseYarnrc('yarnPath: .yarn/releases/yarn-3.8.0.cjs\n'), {plugins: []});
  });
});
