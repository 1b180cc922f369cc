/**
 * The planner's rules for the instructions inside a stage (everything but FROM and the ARGs
 * before it): each one updates the stage's image config, adds an action for the executor,
 * or is refused with what to do. Pure.
 */
import {posix} from 'node:path';
import type {DockerInstruction} from './parse';
import type {PlanStep} from './plan-types';
import {PlanRefusal} from './plan-refusal';
import {commandArgv, DEFAULT_SHELL, execForm} from './command';
import {copyStep} from './copy-instruction';
import {commandWords, runProblem} from './run-checks';
import {expansionVars, stageVars, type StageContext, type StageState} from './stage-state';
import {expandWord, rawWords} from './words';

const IGNORED: Record<string, string> = {
  HEALTHCHECK: 'HEALTHCHECK is ignored: Cloud Run does not run Docker health checks (it has its own startup and liveness probes)',
  STOPSIGNAL: 'STOPSIGNAL is ignored: Cloud Run stops an instance with SIGTERM, and so does the local run',
  VOLUME: "VOLUME is ignored: Cloud Run mounts volumes from the service's settings; the folder stays part of the image",
  ONBUILD: 'ONBUILD is ignored: it runs only when another Dockerfile builds FROM this image',
  MAINTAINER: 'MAINTAINER is ignored (deprecated: use LABEL)',
};

/** Applies one in-stage instruction to `s`, filling in `step`. */
export function stageInstruction(ins: DockerInstruction, step: PlanStep, s: StageState, ctx: StageContext): void {
  const {escape} = ctx;
  if (IGNORED[ins.keyword]) {
    step.notes.push(IGNORED[ins.keyword]);
    return;
  }
  switch (ins.keyword) {
    case 'ARG':
      for (const word of rawWords(ins.args, escape)) {
        const eq = word.indexOf('=');
        const name = eq < 0 ? word : word.slice(0, eq);
        const fallback = eq < 0 ? ctx.global.get(name) : expandWord(word.slice(eq + 1), expansionVars(s), escape);
        s.args.set(name, ctx.buildArgs[name] ?? fallback);
      }
      return;
    case 'ENV':
    case 'LABEL':
      for (const [k, v] of pairs(ins, expansionVars(s), escape)) (ins.keyword === 'ENV' ? s.env : s.labels).set(k, v);
      return;
    case 'WORKDIR': {
      const dir = expandWord(ins.args.trim(), expansionVars(s), escape);
      if (!dir) throw new PlanRefusal('WORKDIR needs a path', 'write WORKDIR /usr/src/app');
      s.workdir = posix.resolve(s.workdir, dir);
      ctx.imagePaths.add(s.workdir);
      step.action = {op: 'workdir', path: s.workdir};
      return;
    }
    case 'USER':
      s.user = expandWord(ins.args.trim(), expansionVars(s), escape);
      step.notes.push(`USER ${s.user} is recorded; the local build and run cannot switch users: they run as you`);
      return;
    case 'EXPOSE':
      for (const word of rawWords(ins.args, escape)) {
        const port = expandWord(word, expansionVars(s), escape);
        if (!/^\d+(?:-\d+)?(?:\/(?:tcp|udp|sctp))?$/i.test(port))
          throw new PlanRefusal(`"${port}" is not a port`, 'write EXPOSE 8080 or 8080/tcp');
        s.exposed.push(port);
      }
      step.notes.push(
        'EXPOSE is recorded; Cloud Run sends requests to the port in PORT (8080 unless the service sets another), and so does the local run',
      );
      return;
    case 'SHELL': {
      const shell = execForm(ins.args);
      if (!shell?.length) throw new PlanRefusal('SHELL takes the exec form', 'write SHELL ["/bin/bash", "-c"]');
      s.shell = shell;
      return;
    }
    case 'CMD':
    case 'ENTRYPOINT': {
      noFlags(ins);
      const {argv, exec} = commandArgv(ins.args, s.shell ?? DEFAULT_SHELL);
      if (ins.keyword === 'CMD') {
        [s.cmd, s.cmdHere] = [argv, true];
        return;
      }
      s.entrypoint = argv;
      if (!s.cmdHere) s.cmd = [];
      if (!exec) step.notes.push('ENTRYPOINT in shell form: any CMD is ignored, as in Docker');
      return;
    }
    case 'RUN':
      run(ins, step, s, ctx);
      return;
    case 'COPY':
    case 'ADD':
      copyStep(ins, step, s, ctx);
      return;
    default:
      throw new PlanRefusal(`unknown instruction ${ins.keyword}`, 'fix the Dockerfile: it fails with docker build too');
  }
}

function noFlags(ins: DockerInstruction): void {
  if (ins.flags.length) throw new PlanRefusal(`${ins.keyword} has no --${ins.flags[0].name} flag`, 'remove it');
}

/** ENV and LABEL pairs: `k=v k2="v 2"`, or the old `k v w` (one pair, the rest of the line its value). */
function pairs(ins: DockerInstruction, vars: Map<string, string>, escape: string): [string, string][] {
  const words = rawWords(ins.args, escape);
  if (!words.length) throw new PlanRefusal(`${ins.keyword} needs at least one name=value`, `write ${ins.keyword} NAME=value`);
  if (!words[0].includes('=')) {
    const rest = ins.args.trim().slice(words[0].length).trim();
    if (!rest) throw new PlanRefusal(`${ins.keyword} ${words[0]} has no value`, `write ${ins.keyword} ${words[0]}=value`);
    return [[expandWord(words[0], vars, escape), expandWord(rest, vars, escape)]];
  }
  // Every value sees the variables as they were before this instruction, as in Docker.
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new PlanRefusal(`"${w}" is not name=value`, `write ${ins.keyword} NAME=value`);
    return [expandWord(w.slice(0, eq), vars, escape), expandWord(w.slice(eq + 1), vars, escape)];
  });
}

function run(ins: DockerInstruction, step: PlanStep, s: StageState, ctx: StageContext): void {
  for (const flag of ins.flags) {
    if (flag.name === 'network') step.notes.push(`--network=${flag.value ?? ''} is ignored: RUN uses this machine's network`);
    else if (flag.name === 'mount') {
      throw new PlanRefusal(
        'RUN --mount needs BuildKit mounts (caches, secrets, binds), which the local build does not have',
        'drop the --mount flag to build locally, remove the Dockerfile to build with buildpacks, or deploy on Google Cloud',
      );
    } else throw new PlanRefusal(`RUN --${flag.name} is not supported by the local build`, 'remove the flag, or deploy on Google Cloud');
  }
  if (ins.heredoc) {
    throw new PlanRefusal(
      'RUN with a heredoc (<<EOF) is not supported by the local build',
      'put the script in a file of the source and RUN it, or use &&',
    );
  }
  if (s.system === 'distroless') {
    throw new PlanRefusal(
      'distroless images have no shell or tools to RUN, so this fails on Google Cloud too',
      'RUN in a node build stage (FROM node:20 AS build) and COPY --from=build the result',
    );
  }
  const {argv, exec} = commandArgv(ins.args, s.shell ?? DEFAULT_SHELL);
  const problem = runProblem(commandWords(argv, exec), ctx.imagePaths);
  if (problem) throw new PlanRefusal(problem.reason, problem.todo);
  step.action = {op: 'run', argv, env: Object.fromEntries(stageVars(s)), workdir: s.workdir};
}
