/**
 * Carries a Dockerfile plan out on this machine, in the build's own folder: each stage's
 * filesystem is a folder (`stage-<n>`), WORKDIR and COPY write under it, RUN runs there with
 * the build's allow-listed environment plus the Dockerfile's, and each step prints the line
 * `docker build` prints (`Step 3/8 : RUN npm ci`).
 */
import {cpSync, mkdirSync} from 'node:fs';
import {join} from 'node:path';
import {BuildFailure} from '../build-failure';
import {runStep} from '../run-step';
import {missingCommand} from '../step-failure';
import type {DockerPlan, PlanStep, StepAction} from './plan-types';
import {wholeTree, type SourceTree} from './build-context';
import {hostPath, runEnv} from './container-paths';
import {copyFiles, CopyError} from './copy-files';
import {stageLabel} from './plan-refusal';

/** What {@link executePlan} needs besides the plan. */
export interface ExecuteInput {
  plan: DockerPlan;
  /** The build context, filtered by .dockerignore. */
  context: SourceTree;
  /** Where the stages' filesystems are made. */
  work: string;
  /** The environment every RUN starts from (see build-env.ts). */
  buildEnv: Record<string, string>;
  log: (line: string) => void;
  /** A chunk of a RUN's output. */
  output: (text: string) => void;
  signal: AbortSignal;
}

/** Builds every stage of the plan; returns the last one's filesystem folder. */
export async function executePlan(input: ExecuteInput): Promise<string> {
  const {plan, log} = input;
  const rootfsOf = (index: number) => join(input.work, `stage-${index}`);
  const trees = new Map<number, SourceTree>();
  plan.preamble.forEach(log);
  plan.skipped.forEach(log);
  let n = 0;
  for (const stage of plan.stages) {
    const rootfs = rootfsOf(stage.index);
    if (stage.base.kind === 'stage') {
      cpSync(rootfsOf(stage.base.index), rootfs, {recursive: true, verbatimSymlinks: true});
    } else {
      mkdirSync(rootfs, {recursive: true});
    }
    for (const step of stage.steps) {
      if (input.signal.aborted) throw new Error('aborted');
      log(`Step ${++n}/${plan.total} : ${step.text}`);
      step.warnings.forEach((w) => log(`WARNING: ${w}`));
      step.notes.forEach((note) => log(` ---> ${note}`));
      if (!step.action) continue;
      const source = (from: 'context' | number): [SourceTree, string] => {
        if (from === 'context') return [input.context, 'the build context'];
        if (!trees.has(from)) trees.set(from, wholeTree(rootfsOf(from)));
        const label = plan.stages.find((s) => s.index === from) ?? {index: from};
        return [trees.get(from)!, `stage ${stageLabel(label)}`];
      };
      await act(step, step.action, rootfs, source, input);
    }
    log(` ---> Stage ${stageLabel(stage)} built`);
  }
  return rootfsOf(plan.stages[plan.stages.length - 1].index);
}

async function act(
  step: PlanStep,
  action: StepAction,
  rootfs: string,
  source: (from: 'context' | number) => [SourceTree, string],
  input: ExecuteInput,
): Promise<void> {
  const fail = (reason: string, tail: string[] = []) => new BuildFailure(`Dockerfile line ${step.line} (${step.text}): ${reason}`, tail);
  if (action.op === 'workdir') {
    mkdirSync(hostPath(rootfs, action.path), {recursive: true});
    return;
  }
  if (action.op === 'copy') {
    const [tree, what] = source(action.from);
    try {
      const out = copyFiles(action, tree, rootfs, what);
      out.notes.forEach((note) => input.log(` ---> ${note}`));
      input.log(` ---> Copied ${out.files} file${out.files === 1 ? '' : 's'}`);
    } catch (err) {
      if (err instanceof CopyError) throw fail(err.message);
      throw err;
    }
    return;
  }
  const cwd = hostPath(rootfs, action.workdir);
  mkdirSync(cwd, {recursive: true});
  const [command, ...args] = action.argv;
  let res;
  try {
    res = await runStep(command, args, {
      cwd,
      env: runEnv(input.buildEnv, action.env, rootfs),
      signal: input.signal,
      onOutput: input.output,
    });
  } catch (err) {
    if (input.signal.aborted) throw err;
    throw fail(`"${command}" could not be started (${(err as Error).message}): it must be on this machine, as node and npm are`);
  }
  if (res.code === 0) return;
  const how = res.code === null ? `killed by ${res.signal}` : `exit code ${res.code}`;
  const missing = res.code === 127 ? missingCommand(res.tail) : undefined;
  const hint = missing
    ? `: the command "${missing}" was not found; without a container only this machine's programs, node and npm are there (add a package's tools to package.json and call them through npm or npx)`
    : '';
  throw fail(`the command returned a non-zero code (${how})${hint}`, res.tail);
}
