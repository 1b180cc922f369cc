/**
 * The Dockerfile planner: parsed instructions, build args and this machine's Node.js in; the
 * stages and steps to carry out on the host and the image they make out, or a refusal naming
 * the instruction, its line and what to do. Pure: no file system, no environment, no clock.
 *
 * The image's filesystem is a folder (its rootfs): container paths stay container paths here
 * (`WORKDIR /app` is `/app`), and the executor maps them to `<rootfs>/app`.
 */
import {posix} from 'node:path';
import type {DockerInstruction} from './parse';
import type {DockerPlan, PlanInput, PlanResult, PlannedStage, PlanStep, Refusal} from './plan-types';
import {NODE_IMAGE_ENTRYPOINT} from './command';
import {nodeBase} from './base-image';
import {PlanRefusal, stageLabel} from './plan-refusal';
import {stageInstruction} from './stage-instructions';
import type {StageState} from './stage-state';
import {expandWord, rawWords, WordError} from './words';

const STAGE_NAME = /^[a-z][a-z0-9_.-]*$/;

/** Plans the build of a Dockerfile; see the file comment. */
export function planDockerfile(input: PlanInput): PlanResult {
  const {dockerfile} = input;
  const preamble: string[] = [];
  for (const d of dockerfile.directives) {
    if (d.name === 'syntax' && !/^(?:docker\.io\/)?docker\/dockerfile(?::[\w.-]+)?(?:@sha256:[0-9a-f]+)?$/i.test(d.value)) {
      return refuse(undefined, `# syntax=${d.value}`, {
        reason: `the Dockerfile asks for the BuildKit frontend "${d.value}", and the local build only knows the standard Dockerfile syntax`,
        todo: 'remove the # syntax line (or name docker/dockerfile:1), or deploy on Google Cloud',
      });
    }
    if (d.name === 'syntax') preamble.push(`The local build reads the Dockerfile itself: # syntax=${d.value} is not fetched`);
  }
  const global = new Map<string, string | undefined>(platformArgs(input.platform));
  const stages: StageState[] = [];
  let step: PlanStep | undefined;
  try {
    const imagePaths = literalImagePaths(dockerfile.instructions, dockerfile.escape);
    for (const ins of dockerfile.instructions) {
      step = {line: ins.line, text: stepText(ins), notes: [], warnings: []};
      const current = stages[stages.length - 1];
      if (ins.keyword === 'FROM') {
        stages.push(fromStage(ins, step, stages, global, input));
      } else if (!current) {
        if (ins.keyword !== 'ARG') throw new PlanRefusal('only ARG may come before the first FROM', 'start the Dockerfile with FROM');
        globalArg(ins, global, input.buildArgs, dockerfile.escape);
      } else {
        stageInstruction(ins, step, current, {stages, global, buildArgs: input.buildArgs, escape: dockerfile.escape, imagePaths});
        current.steps.push(step);
      }
    }
  } catch (err) {
    if (err instanceof PlanRefusal) return refuse(step?.line, step?.text, {reason: err.reason, todo: err.todo});
    if (err instanceof WordError) return refuse(step?.line, step?.text, {reason: err.message, todo: 'fix the quoting or the ${…} in it'});
    throw err;
  }
  const last = stages[stages.length - 1];
  if (!last)
    return refuse(undefined, undefined, {reason: 'the Dockerfile has no FROM instruction', todo: 'start it with FROM node:20-slim'});
  const image = finalImage(last);
  if (!image.ok) return refuse(last.fromLine, last.fromText, image.refusal);
  const needed = neededStages(stages, last.index);
  const built = stages.filter((s) => needed.has(s.index));
  const plan: DockerPlan = {
    stages: built.map((s): PlannedStage => ({index: s.index, name: s.name, base: s.base, steps: s.steps})),
    total: built.reduce((n, s) => n + s.steps.length, 0),
    skipped: stages.filter((s) => !needed.has(s.index)).map((s) => `Skipping stage ${stageLabel(s)}: the image does not use it`),
    preamble,
    image: image.value,
  };
  return {ok: true, plan};
}

function refuse(line: number | undefined, instruction: string | undefined, r: Omit<Refusal, 'line' | 'instruction'>): PlanResult {
  const refusal: Refusal = {...r};
  if (line !== undefined) refusal.line = line;
  if (instruction !== undefined) refusal.instruction = instruction;
  return {ok: false, refusal};
}

/** The instruction as `docker build` prints it: keyword, flags, arguments. */
function stepText(ins: DockerInstruction): string {
  const flags = ins.flags.map((f) => ` --${f.name}${f.value === undefined ? '' : `=${f.value}`}`).join('');
  return `${ins.keyword}${flags} ${ins.args.replace(/\s*\n\s*/g, ' ')}`.trimEnd();
}

/** The platform ARGs BuildKit defines in the global scope. */
function platformArgs(p: PlanInput['platform']): [string, string][] {
  const platform = `${p.os}/${p.arch}`;
  return [
    ['TARGETPLATFORM', platform],
    ['TARGETOS', p.os],
    ['TARGETARCH', p.arch],
    ['TARGETVARIANT', ''],
    ['BUILDPLATFORM', platform],
    ['BUILDOS', p.os],
    ['BUILDARCH', p.arch],
    ['BUILDVARIANT', ''],
  ];
}

function definedVars(args: ReadonlyMap<string, string | undefined>): Map<string, string> {
  return new Map([...args].filter((e): e is [string, string] => e[1] !== undefined));
}

function globalArg(ins: DockerInstruction, global: Map<string, string | undefined>, buildArgs: Record<string, string>, escape: string) {
  for (const word of rawWords(ins.args, escape)) {
    const eq = word.indexOf('=');
    const name = eq < 0 ? word : word.slice(0, eq);
    const fallback = eq < 0 ? undefined : expandWord(word.slice(eq + 1), definedVars(global), escape);
    global.set(name, buildArgs[name] ?? fallback);
  }
}

function fromStage(
  ins: DockerInstruction,
  step: PlanStep,
  stages: StageState[],
  global: Map<string, string | undefined>,
  input: PlanInput,
): StageState {
  const escape = input.dockerfile.escape;
  const words = rawWords(ins.args, escape).map((w) => expandWord(w, definedVars(global), escape));
  if (!(words.length === 1 || (words.length === 3 && words[1].toLowerCase() === 'as'))) {
    throw new PlanRefusal('FROM takes an image and an optional "AS name"', 'write FROM <image> [AS <name>]');
  }
  const name = words[2]?.toLowerCase();
  if (name !== undefined && !STAGE_NAME.test(name)) {
    throw new PlanRefusal(`"${words[2]}" is not a valid stage name`, 'use letters, digits, "-", "_" and "."');
  }
  if (name !== undefined && stages.some((s) => s.name === name)) {
    throw new PlanRefusal(`there is already a stage named "${name}"`, 'give each stage its own name');
  }
  for (const flag of ins.flags) {
    if (flag.name !== 'platform') throw new PlanRefusal(`FROM has no --${flag.name} flag`, 'remove it');
    const value = expandWord(flag.value ?? '', definedVars(global), escape);
    step.notes.push(`--platform=${value} is ignored: the local build runs on this machine (${input.platform.os}/${input.platform.arch})`);
  }
  const ref = words[0];
  const index = stages.length;
  const parent = stages.find((s) => s.name === ref.toLowerCase());
  if (parent) {
    step.notes.push(`Starting from stage ${stageLabel(parent)}`);
    return {
      ...inherit(parent),
      index,
      name,
      base: {kind: 'stage', index: parent.index},
      fromLine: ins.line,
      fromText: step.text,
      steps: [step],
    };
  }
  const base = nodeBase(ref);
  if (!base) {
    throw new PlanRefusal(
      ref.toLowerCase() === 'scratch'
        ? 'FROM scratch starts from an empty image, and the local build can only stand in for Node.js images'
        : `the base image "${ref}" is not a Node.js image: the local build has no containers and can only stand in for ` +
            'the official node image (node:<tag>) and gcr.io/distroless/nodejs with this machine’s Node.js',
      'use FROM node:<version>-slim to build locally, remove the Dockerfile to build with buildpacks, or deploy on Google Cloud',
    );
  }
  const host = Number(input.hostNode.split('.')[0]);
  step.notes.push(
    `Using this machine's Node.js ${input.hostNode} for ${ref} (there is no container: only node and npm come from the image)`,
  );
  if (base.major !== undefined && base.major !== host) {
    step.warnings.push(
      `${ref} has Node.js ${base.major}, and the local build uses this machine's Node.js ${input.hostNode}: ` +
        `the app may behave differently on Google Cloud; install Node.js ${base.major} here to build with it`,
    );
  }
  if (base.user) step.notes.push(`The image runs as user "${base.user}"; the local run cannot switch users`);
  return {
    index,
    name,
    base: {kind: base.kind, image: ref},
    system: base.kind,
    fromLine: ins.line,
    fromText: step.text,
    steps: [step],
    env: new Map(),
    args: new Map(),
    workdir: '/',
    user: base.user,
    exposed: [],
    labels: new Map(),
    shell: undefined,
    entrypoint: undefined,
    cmd: undefined,
    cmdHere: false,
    uses: new Set(),
  };
}

/** What a stage built FROM an earlier one starts with: its image config, not its ARGs. */
function inherit(parent: StageState): Omit<StageState, 'index' | 'name' | 'base' | 'fromLine' | 'fromText' | 'steps'> {
  return {
    system: parent.system,
    env: new Map(parent.env),
    args: new Map(),
    workdir: parent.workdir,
    user: parent.user,
    exposed: [...parent.exposed],
    labels: new Map(parent.labels),
    shell: parent.shell,
    entrypoint: parent.entrypoint,
    cmd: parent.cmd,
    cmdHere: false,
    uses: new Set([parent.index]),
  };
}

/** The stages `target` needs, through FROM and COPY --from. */
function neededStages(stages: StageState[], target: number): Set<number> {
  const needed = new Set<number>();
  const visit = (i: number) => {
    if (needed.has(i)) return;
    needed.add(i);
    stages[i].uses.forEach(visit);
  };
  visit(target);
  return needed;
}

/** The command and config of the last stage's image (Docker's ENTRYPOINT + CMD rules). */
function finalImage(s: StageState): {ok: true; value: DockerPlan['image']} | {ok: false; refusal: Omit<Refusal, 'line' | 'instruction'>} {
  const image = {
    env: Object.fromEntries(s.env),
    workdir: s.workdir,
    exposedPorts: s.exposed,
    labels: Object.fromEntries(s.labels),
    ...(s.user === undefined ? {} : {user: s.user}),
  };
  if (s.entrypoint) return {ok: true, value: {...image, entrypoint: s.entrypoint, cmd: s.cmd ?? []}};
  if (!s.cmd || s.cmd.length === 0) {
    return {
      ok: false,
      refusal: {
        reason:
          s.system === 'node'
            ? 'the image has no CMD or ENTRYPOINT of its own: the node image would start the node REPL, which exits at once without a terminal'
            : 'the image has no CMD or ENTRYPOINT of its own: distroless Node.js would start node without a script',
        todo: 'add CMD ["node", "index.js"] (your server file) at the end of the Dockerfile',
      },
    };
  }
  // distroless nodejs images have ENTRYPOINT ["/nodejs/bin/node"]; this machine's node stands in for it.
  if (s.system === 'distroless') return {ok: true, value: {...image, entrypoint: ['node'], cmd: s.cmd}};
  return {ok: true, value: {...image, entrypoint: [NODE_IMAGE_ENTRYPOINT], cmd: s.cmd}};
}

/** Container folders the Dockerfile names literally (WORKDIR, absolute COPY/ADD destinations), for the RUN path check. */
function literalImagePaths(instructions: DockerInstruction[], escape: string): Set<string> {
  const paths = new Set<string>();
  for (const ins of instructions) {
    const word =
      ins.keyword === 'WORKDIR' ? ins.args.trim() : ['COPY', 'ADD'].includes(ins.keyword) ? rawWords(ins.args, escape).pop() : undefined;
    if (word?.startsWith('/') && !/[$"'[]/.test(word)) {
      const dir = posix.normalize(word).replace(/\/+$/, '');
      if (dir) paths.add(dir);
    }
  }
  return paths;
}
