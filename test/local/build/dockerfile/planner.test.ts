import {describe, it} from 'node:test';
import assert from 'node:assert/strict';
import {parseDockerfile} from '../../../../local/build/dockerfile/parse';
import {planDockerfile} from '../../../../local/build/dockerfile/planner';
import type {DockerPlan, PlannedImage, PlanResult, StepAction} from '../../../../local/build/dockerfile/plan-types';

const plan = (text: string, buildArgs: Record<string, string> = {}): PlanResult =>
  planDockerfile({dockerfile: parseDockerfile(text), buildArgs, hostNode: '20.20.2', platform: {os: 'linux', arch: 'amd64'}});

function ok(text: string, buildArgs: Record<string, string> = {}): DockerPlan {
  const res = plan(text, buildArgs);
  assert.ok(res.ok, `refused: ${JSON.stringify(!res.ok && res.refusal)}`);
  return res.plan;
}

const image = (over: Partial<PlannedImage>): PlannedImage => ({
  entrypoint: ['docker-entrypoint.sh'],
  cmd: ['node', 'index.js'],
  env: {},
  workdir: '/',
  exposedPorts: [],
  labels: {},
  ...over,
});

const lines = (...l: string[]) => l.join('\n') + '\n';
const actions = (p: DockerPlan) => p.stages.flatMap((s) => s.steps.map((st) => st.action));
const texts = (p: DockerPlan) => p.stages.flatMap((s) => s.steps.map((st) => st.text));
const notes = (p: DockerPlan) => p.stages.flatMap((s) => s.steps.flatMap((st) => st.notes));
const warnings = (p: DockerPlan) => p.stages.flatMap((s) => s.steps.flatMap((st) => st.warnings));

describe('Dockerfile planner: source shape in, plan out', () => {
  it("plans Cloud Run's Node.js sample: one stage on the host's Node.js, steps in order", () => {
    const p = ok(
      lines(
        'FROM node:20-slim',
        'WORKDIR /usr/src/app',
        'COPY package*.json ./',
        'RUN npm install --omit=dev',
        'COPY . .',
        'CMD ["node", "index.js"]',
      ),
    );
    assert.equal(p.total, 6);
    assert.deepEqual(p.stages[0].base, {kind: 'node', image: 'node:20-slim'});
    assert.deepEqual(texts(p), [
      'FROM node:20-slim',
      'WORKDIR /usr/src/app',
      'COPY package*.json ./',
      'RUN npm install --omit=dev',
      'COPY . .',
      'CMD ["node", "index.js"]',
    ]);
    const app = '/usr/src/app';
    assert.deepEqual(actions(p), [
      undefined,
      {op: 'workdir', path: app},
      {op: 'copy', from: 'context', sources: ['package*.json'], dest: app, destDir: true},
      {op: 'run', argv: ['/bin/sh', '-c', 'npm install --omit=dev'], env: {}, workdir: app},
      {op: 'copy', from: 'context', sources: [''], dest: app, destDir: true},
      undefined,
    ]);
    assert.deepEqual(p.image, image({workdir: app}));
    assert.deepEqual(warnings(p), []);
    assert.match(p.stages[0].steps[0].notes[0], /^Using this machine's Node\.js 20\.20\.2 for node:20-slim/);
  });

  const bases: {name: string; from: string; warning?: RegExp; note?: RegExp}[] = [
    {name: 'a bare node', from: 'node'},
    {name: 'Docker Hub by full name with a digest', from: 'docker.io/library/node:20.11.1-bookworm-slim@sha256:' + 'a'.repeat(64)},
    {name: 'library/node', from: 'library/node:20'},
    {name: "Google's mirror of Docker Hub", from: 'mirror.gcr.io/library/node:20-alpine'},
    {name: 'lts (no major to compare)', from: 'node:lts-slim'},
    {name: 'latest', from: 'node:latest'},
    {name: 'a codename tag', from: 'node:iron-slim'},
    {
      name: 'another major: a warning',
      from: 'node:22-alpine',
      warning: /^node:22-alpine has Node\.js 22, and the local build uses this machine's Node\.js 20\.20\.2/,
    },
    {name: 'another codename: a warning', from: 'node:jod', warning: /has Node\.js 22/},
    {name: '--platform: ignored with a note', from: '--platform=$BUILDPLATFORM node:20', note: /^--platform=linux\/amd64 is ignored/},
  ];
  for (const b of bases) {
    it(`maps FROM ${b.name} to the host's Node.js`, () => {
      const p = ok(`FROM ${b.from}\nCMD ["node", "index.js"]\n`);
      assert.equal(p.stages[0].base.kind, 'node');
      assert.deepEqual(warnings(p).length, b.warning ? 1 : 0, JSON.stringify(warnings(p)));
      if (b.warning) assert.match(warnings(p)[0], b.warning);
      if (b.note)
        assert.ok(
          notes(p).some((n) => b.note!.test(n)),
          JSON.stringify(notes(p)),
        );
    });
  }

  it('builds a multi-stage Dockerfile: COPY --from by name and index, FROM an earlier stage, unused stages skipped', () => {
    const p = ok(
      lines(
        'FROM node:20 AS deps',
        'WORKDIR /app',
        'COPY package.json ./',
        'RUN npm install',
        'FROM node:20 AS test',
        'RUN npm test',
        'FROM deps AS build',
        'COPY . .',
        'RUN node build.js',
        'FROM node:20-slim',
        'WORKDIR /srv',
        'COPY --from=build /app/dist ./dist',
        'COPY --from=0 app/node_modules node_modules/',
        'CMD ["node", "dist/server.js"]',
      ),
    );
    assert.deepEqual(
      p.stages.map((s) => [s.index, s.name, s.base]),
      [
        [0, 'deps', {kind: 'node', image: 'node:20'}],
        [2, 'build', {kind: 'stage', index: 0}],
        [3, undefined, {kind: 'node', image: 'node:20-slim'}],
      ],
    );
    assert.deepEqual(p.skipped, ['Skipping stage 1 (test): the image does not use it']);
    assert.equal(p.total, 12);
    // The stage built FROM deps keeps its WORKDIR.
    assert.deepEqual(p.stages[1].steps[2].action, {op: 'run', argv: ['/bin/sh', '-c', 'node build.js'], env: {}, workdir: '/app'});
    assert.deepEqual(
      p.stages[2].steps.slice(2, 4).map((s) => s.action),
      [
        {op: 'copy', from: 2, sources: ['app/dist'], dest: '/srv/dist', destDir: false},
        {op: 'copy', from: 0, sources: ['app/node_modules'], dest: '/srv/node_modules', destDir: true},
      ],
    );
    assert.deepEqual(p.image, image({cmd: ['node', 'dist/server.js'], workdir: '/srv'}));
  });

  it('reads ENV in both forms, with $VAR, ${VAR}, :- and :+ as Docker does; each pair sees the values before its line', () => {
    const p = ok(
      lines(
        'FROM node:20',
        'ENV A=1 B="two words" C=x\\ y',
        'ENV D four  five',
        'ENV E=${A:-z}-${MISSING:-dflt}-${A:+set}-${MISSING:+no} F=$A$B G=\'$A\' H="$A" A=2 I=$A',
        'ENV J=${A}',
        'CMD ["node", "index.js"]',
      ),
    );
    assert.deepEqual(p.image.env, {
      A: '2',
      B: 'two words',
      C: 'x y',
      D: 'four  five',
      E: '1-dflt-set-',
      F: '1two words',
      G: '$A',
      H: '1',
      I: '1',
      J: '2',
    });
  });

  it('takes ARG defaults, before FROM (for FROM only, unless redeclared) and in a stage (in RUN, not in the image)', () => {
    const p = ok(
      lines(
        'ARG NODE_VERSION=20',
        'ARG FLAVOUR=slim',
        'FROM node:${NODE_VERSION}-${FLAVOUR}',
        'ARG NODE_VERSION',
        'ARG MODE=prod TARGETARCH',
        'ENV FROM_ARG=$MODE UNSEEN=${FLAVOUR:-none}',
        'RUN echo $MODE',
        'CMD ["node", "index.js"]',
      ),
      {MODE: 'dev'},
    );
    assert.deepEqual(p.stages[0].base, {kind: 'node', image: 'node:20-slim'});
    assert.deepEqual(p.image.env, {FROM_ARG: 'dev', UNSEEN: 'none'});
    assert.deepEqual(actions(p)[4], {
      op: 'run',
      argv: ['/bin/sh', '-c', 'echo $MODE'],
      env: {NODE_VERSION: '20', MODE: 'dev', TARGETARCH: 'amd64', FROM_ARG: 'dev', UNSEEN: 'none'},
      workdir: '/',
    });
  });

  const commands: {name: string; dockerfile: string[]; want: Partial<PlannedImage>}[] = [
    {name: 'CMD exec form', dockerfile: ['CMD ["npm", "start"]'], want: {cmd: ['npm', 'start']}},
    {
      name: 'CMD shell form',
      dockerfile: ['CMD node server.js'],
      want: {cmd: ['/bin/sh', '-c', 'node server.js']},
    },
    {name: 'CMD with a script name only', dockerfile: ['CMD ["index.js"]'], want: {cmd: ['index.js']}},
    {
      name: 'ENTRYPOINT exec + CMD as its arguments',
      dockerfile: ['ENTRYPOINT ["node"]', 'CMD ["server.js", "--port", "x"]'],
      want: {entrypoint: ['node'], cmd: ['server.js', '--port', 'x']},
    },
    {name: 'ENTRYPOINT alone', dockerfile: ['ENTRYPOINT ["node", "a.js"]'], want: {entrypoint: ['node', 'a.js'], cmd: []}},
    {
      name: 'ENTRYPOINT shell form: CMD only becomes $0, as in Docker',
      dockerfile: ['ENTRYPOINT node a.js', 'CMD ["ignored"]'],
      want: {entrypoint: ['/bin/sh', '-c', 'node a.js'], cmd: ['ignored']},
    },
    {
      name: 'SHELL changes the shell form',
      dockerfile: ['SHELL ["/bin/bash", "-o", "pipefail", "-c"]', 'CMD node a.js'],
      want: {cmd: ['/bin/bash', '-o', 'pipefail', '-c', 'node a.js']},
    },
    {name: 'the last CMD wins', dockerfile: ['CMD ["node", "a.js"]', 'CMD ["node", "b.js"]'], want: {cmd: ['node', 'b.js']}},
  ];
  for (const c of commands) {
    it(`makes the command: ${c.name}`, () => {
      const p = ok(['FROM node:20', ...c.dockerfile].join('\n'));
      assert.deepEqual({entrypoint: p.image.entrypoint, cmd: p.image.cmd}, {entrypoint: ['docker-entrypoint.sh'], ...c.want});
    });
  }

  it('resets a CMD inherited from an earlier stage when a later one sets ENTRYPOINT, as Docker does', () => {
    const p = ok(lines('FROM node:20 AS base', 'CMD ["node", "a.js"]', 'FROM base', 'ENTRYPOINT ["node", "b.js"]'));
    assert.deepEqual([p.image.entrypoint, p.image.cmd], [['node', 'b.js'], []]);
  });

  it('resolves WORKDIR against the previous one, with variables, and COPY destinations against WORKDIR', () => {
    const p = ok(
      lines(
        'FROM node:20',
        'ENV BASE=/srv',
        'WORKDIR $BASE',
        'WORKDIR app',
        'WORKDIR ../web/',
        'COPY a.js b.js lib/',
        'COPY x.js /opt/x.js',
        'CMD ["node", "a.js"]',
      ),
    );
    assert.deepEqual(actions(p).slice(2, 7), [
      {op: 'workdir', path: '/srv'},
      {op: 'workdir', path: '/srv/app'},
      {op: 'workdir', path: '/srv/web'},
      {op: 'copy', from: 'context', sources: ['a.js', 'b.js'], dest: '/srv/web/lib', destDir: true},
      {op: 'copy', from: 'context', sources: ['x.js'], dest: '/opt/x.js', destDir: false},
    ]);
    assert.equal(p.image.workdir, '/srv/web');
  });

  it('records USER, EXPOSE and LABEL in the image; notes what it ignores', () => {
    const p = ok(
      lines(
        'FROM node:20',
        'LABEL org.opencontainers.image.source="https://example.com/repo" team=web',
        'EXPOSE 3000 8080/tcp',
        'HEALTHCHECK --interval=5s CMD curl -f http://localhost/',
        'STOPSIGNAL SIGINT',
        'VOLUME /data',
        'ONBUILD RUN echo later',
        'COPY --chown=node:node --chmod=755 start.sh ./',
        'USER node',
        'CMD ["./start.sh"]',
      ),
    );
    assert.deepEqual(p.image, {
      ...image({cmd: ['./start.sh']}),
      user: 'node',
      exposedPorts: ['3000', '8080/tcp'],
      labels: {'org.opencontainers.image.source': 'https://example.com/repo', team: 'web'},
    });
    assert.deepEqual(actions(p)[7], {op: 'copy', from: 'context', sources: ['start.sh'], dest: '/', destDir: true, chmod: 0o755});
    for (const note of [
      /^EXPOSE is recorded; Cloud Run sends requests to the port in PORT/,
      /^HEALTHCHECK is ignored/,
      /^STOPSIGNAL is ignored/,
      /^VOLUME is ignored/,
      /^ONBUILD is ignored/,
      /^--chown=node:node is ignored/,
      /^USER node is recorded; the local build and run cannot switch users/,
    ]) {
      assert.ok(
        notes(p).some((n) => note.test(n)),
        `${note} in ${JSON.stringify(notes(p))}`,
      );
    }
  });

  it('maps distroless Node.js: its node is the entrypoint, so CMD names the script', () => {
    const p = ok(
      lines(
        'FROM node:20 AS build',
        'WORKDIR /app',
        'COPY . .',
        'RUN npm ci --omit=dev',
        'FROM gcr.io/distroless/nodejs20-debian12:nonroot',
        'COPY --from=build /app /app',
        'WORKDIR /app',
        'CMD ["index.js"]',
      ),
    );
    assert.deepEqual(p.stages[1].base, {kind: 'distroless', image: 'gcr.io/distroless/nodejs20-debian12:nonroot'});
    assert.deepEqual(p.image, image({entrypoint: ['node'], cmd: ['index.js'], workdir: '/app', user: 'nonroot'}));
  });

  it('honours the escape directive, joins continuation lines, and notes the syntax directive', () => {
    const p = ok(
      [
        '# syntax=docker/dockerfile:1',
        '# escape=`',
        'FROM node:20',
        'ENV WIN=C:\\dir',
        'RUN npm ci && `',
        '    node build.js',
        'CMD ["node", "a.js"]',
      ].join('\n'),
    );
    assert.deepEqual(p.preamble, ['The local build reads the Dockerfile itself: # syntax=docker/dockerfile:1 is not fetched']);
    assert.equal(p.image.env.WIN, 'C:\\dir');
    const run = actions(p)[2] as Extract<StepAction, {op: 'run'}>;
    assert.match(run.argv[2], /^npm ci && +node build\.js$/);
    const q = ok('FROM node:20\nRUN echo a \\\n# a comment inside\n  && echo b\nCMD ["node", "a.js"]\n');
    assert.match((actions(q)[1] as Extract<StepAction, {op: 'run'}>).argv[2], /^echo a +&& echo b$/);
    assert.equal(q.stages[0].steps[1].line, 2);
  });

  it('runs exec-form RUN directly and keeps JSON strings whole', () => {
    const p = ok('FROM node:20\nRUN ["node", "-e", "console.log(\\"a b\\")"]\nCMD ["node", "a.js"]\n');
    assert.deepEqual((actions(p)[1] as Extract<StepAction, {op: 'run'}>).argv, ['node', '-e', 'console.log("a b")']);
  });
});

interface RefusalRow {
  name: string;
  dockerfile: string[];
  line?: number;
  instruction?: string;
  reason: RegExp;
  todo: RegExp;
}

const CMD = 'CMD ["node", "index.js"]';
const refusals: RefusalRow[] = [
  {
    name: 'another base image',
    dockerfile: ['FROM python:3.12-slim', CMD],
    line: 1,
    instruction: 'FROM python:3.12-slim',
    reason: /"python:3\.12-slim" is not a Node\.js image/,
    todo: /FROM node:<version>-slim .*buildpacks.*Google Cloud/,
  },
  {name: 'FROM scratch', dockerfile: ['FROM scratch', CMD], line: 1, reason: /empty image/, todo: /FROM node/},
  {
    name: 'apt-get in RUN',
    dockerfile: ['FROM node:20', 'RUN apt-get update && apt-get install -y curl', CMD],
    line: 2,
    instruction: 'RUN apt-get update && apt-get install -y curl',
    reason: /"apt-get" installs system packages into the image/,
    todo: /remove the Dockerfile to build with buildpacks, or deploy on Google Cloud/,
  },
  {
    name: 'apk in RUN',
    dockerfile: ['FROM node:20-alpine', 'RUN apk add --no-cache git', CMD],
    line: 2,
    reason: /"apk" installs system packages/,
    todo: /buildpacks/,
  },
  {
    name: 'yum by path',
    dockerfile: ['FROM node:20', 'RUN /usr/bin/yum install -y git', CMD],
    line: 2,
    reason: /"yum"/,
    todo: /Google Cloud/,
  },
  {
    name: 'a user tool',
    dockerfile: ['FROM node:20', 'RUN useradd -m app', CMD],
    line: 2,
    reason: /"useradd" changes the image's users/,
    todo: /USER is recorded/,
  },
  {
    name: 'ADD of a URL',
    dockerfile: ['FROM node:20', 'ADD https://example.com/tool.tgz /opt/', CMD],
    line: 2,
    reason: /ADD https:\/\/example\.com\/tool\.tgz downloads into the image/,
    todo: /add the file to the source and COPY it/,
  },
  {
    name: 'ADD of a local archive',
    dockerfile: ['FROM node:20', 'ADD vendor.tar.gz /opt/', CMD],
    line: 2,
    reason: /unpacks the archive/,
    todo: /unpack it in the source/,
  },
  {
    name: 'RUN --mount',
    dockerfile: ['FROM node:20', 'RUN --mount=type=cache,target=/root/.npm npm ci', CMD],
    line: 2,
    instruction: 'RUN --mount=type=cache,target=/root/.npm npm ci',
    reason: /RUN --mount needs BuildKit mounts/,
    todo: /drop the --mount flag/,
  },
  {
    name: 'COPY --from an image',
    dockerfile: ['FROM node:20', 'COPY --from=nginx:latest /etc/nginx/nginx.conf ./', CMD],
    line: 2,
    reason: /copies from the image "nginx:latest"/,
    todo: /stage of this Dockerfile/,
  },
  {
    name: 'COPY --from a later stage',
    dockerfile: ['FROM node:20', 'COPY --from=1 /a ./', 'FROM node:20', CMD],
    line: 2,
    reason: /this stage or a later one/,
    todo: /earlier stage/,
  },
  {
    name: 'a RUN heredoc',
    dockerfile: ['FROM node:20', 'RUN <<EOF', 'npm ci', 'EOF', CMD],
    line: 2,
    reason: /heredoc/,
    todo: /file of the source/,
  },
  {
    name: 'a COPY heredoc',
    dockerfile: ['FROM node:20', 'COPY <<EOF /app/x', 'hi', 'EOF', CMD],
    line: 2,
    reason: /heredoc/,
    todo: /file of the source/,
  },
  {
    name: 'RUN in distroless',
    dockerfile: ['FROM gcr.io/distroless/nodejs22-debian12', 'RUN npm ci', CMD],
    line: 2,
    reason: /distroless images have no shell/,
    todo: /COPY --from=build/,
  },
  {
    name: 'no CMD',
    dockerfile: ['FROM node:20', 'WORKDIR /app', 'COPY . .'],
    line: 1,
    instruction: 'FROM node:20',
    reason: /no CMD or ENTRYPOINT of its own: the node image would start the node REPL/,
    todo: /add CMD \["node", "index\.js"\]/,
  },
  {
    name: 'RUN writing an image path by absolute path',
    dockerfile: ['FROM node:20', 'RUN mkdir -p /usr/src/app', 'WORKDIR /usr/src/app', CMD],
    line: 2,
    reason: /image path "\/usr\/src\/app" by absolute path/,
    todo: /relative to the WORKDIR/,
  },
  {
    name: 'RUN chmod of a copied file',
    dockerfile: ['FROM node:20', 'COPY entrypoint.sh /entrypoint.sh', 'RUN chmod +x /entrypoint.sh', CMD],
    line: 3,
    reason: /"\/entrypoint\.sh"/,
    todo: /relative/,
  },
  {
    name: 'an unknown instruction',
    dockerfile: ['FROM node:20', 'COPPY . .', CMD],
    line: 2,
    reason: /unknown instruction COPPY/,
    todo: /fails with docker build too/,
  },
  {
    name: 'an instruction before FROM',
    dockerfile: ['ENV A=1', 'FROM node:20', CMD],
    line: 1,
    reason: /only ARG may come before the first FROM/,
    todo: /start the Dockerfile with FROM/,
  },
  {
    name: 'a custom frontend',
    dockerfile: ['# syntax=example.com/my-frontend:1', 'FROM node:20', CMD],
    reason: /BuildKit frontend "example\.com\/my-frontend:1"/,
    todo: /remove the # syntax line/,
  },
  {
    name: 'a required variable unset',
    dockerfile: ['FROM node:20', 'ENV URL=${API_URL:?}', CMD],
    line: 2,
    reason: /^API_URL: is not allowed to be unset$/,
    todo: /quoting or the \$\{…\}/,
  },
  {name: 'an unclosed quote', dockerfile: ['FROM node:20', 'ENV A="open', CMD], line: 2, reason: /double-quote/, todo: /quoting/},
  {
    name: 'several sources into a file name',
    dockerfile: ['FROM node:20', 'COPY a.js b.js dest', CMD],
    line: 2,
    reason: /the destination "dest" must be a folder ending with \//,
    todo: /COPY a\.js b\.js dest\//,
  },
  {
    name: 'a source outside the context',
    dockerfile: ['FROM node:20', 'COPY ../secrets .', CMD],
    line: 2,
    reason: /"\.\.\/secrets" is outside the build context/,
    todo: /inside the uploaded source/,
  },
  {
    name: 'a symbolic --chmod',
    dockerfile: ['FROM node:20', 'COPY --chmod=u+x a.sh ./', CMD],
    line: 2,
    reason: /not an octal mode/,
    todo: /--chmod=755/,
  },
  {
    name: 'a duplicate stage name',
    dockerfile: ['FROM node:20 AS a', 'FROM node:20 AS a', CMD],
    line: 2,
    reason: /already a stage named "a"/,
    todo: /own name/,
  },
  {name: 'no FROM at all', dockerfile: ['ARG A=1'], reason: /no FROM instruction/, todo: /FROM node:20-slim/},
];

describe('Dockerfile planner: what the local build refuses, with the line and what to do', () => {
  for (const r of refusals) {
    it(`refuses ${r.name}`, () => {
      const res = plan(r.dockerfile.join('\n') + '\n');
      assert.ok(!res.ok, `planned: ${JSON.stringify(res.ok && res.plan.stages.map((s) => s.steps.map((x) => x.text)))}`);
      assert.equal(res.refusal.line, r.line);
      if (r.instruction) assert.equal(res.refusal.instruction, r.instruction);
      assert.match(res.refusal.reason, r.reason);
      assert.match(res.refusal.todo, r.todo);
    });
  }
});
