/**
 * What the Dockerfile planner decides: the stages to build, each a list of steps to print and
 * carry out, and the image the last stage makes; or why the local build cannot do it.
 */
import type {ParsedDockerfile} from './parse';

/** What the planner decides from. */
export interface PlanInput {
  dockerfile: ParsedDockerfile;
  /** `--build-arg` values; Cloud Build's `docker build` of a dropdeploy source passes none. */
  buildArgs: Record<string, string>;
  /** The Node.js version that stands in for the base image, e.g. `20.20.2`. */
  hostNode: string;
  /** This machine, as the TARGET and BUILD platform ARGs name it, e.g. `{os: 'linux', arch: 'amd64'}`. */
  platform: {os: string; arch: string};
}

/** Why a Dockerfile cannot be built locally: the instruction, its line, and what to do. */
export interface Refusal {
  line?: number;
  /** The instruction as printed in the step line, e.g. `RUN apt-get update`. */
  instruction?: string;
  reason: string;
  todo: string;
}

/** The planner's answer. */
export type PlanResult = {ok: true; plan: DockerPlan} | {ok: false; refusal: Refusal};

/** Something the executor does for a step. */
export type StepAction =
  /** Create the folder (a container path). */
  | {op: 'workdir'; path: string}
  /**
   * Copy `sources` (paths relative to the source's root: the build context, or the stage's `/`)
   * to `dest`, a container path; `destDir` when Docker treats it as a folder whatever exists.
   */
  | {op: 'copy'; from: 'context' | number; sources: string[]; dest: string; destDir: boolean; chmod?: number}
  /** Run argv in the container folder `workdir`, with the Dockerfile's env (ARGs and ENVs) at that point. */
  | {op: 'run'; argv: string[]; env: Record<string, string>; workdir: string};

/** One instruction: the `Step i/N : …` line, what follows it in the log, and what to do. */
export interface PlanStep {
  line: number;
  /** The instruction as `docker build` prints it after `Step i/N : `. */
  text: string;
  /** Lines printed after the step line (` ---> …`). */
  notes: string[];
  /** `WARNING: …` lines. */
  warnings: string[];
  action?: StepAction;
}

/** Where a stage starts from. */
export type StageBase = {kind: 'node' | 'distroless'; image: string} | {kind: 'stage'; index: number};

/** One build stage to build. */
export interface PlannedStage {
  index: number;
  name?: string;
  base: StageBase;
  steps: PlanStep[];
}

/** The image the last stage makes, as the local registry records it. */
export interface PlannedImage {
  /**
   * The image's ENTRYPOINT: the Dockerfile's own, or the base image's (the node image's
   * `docker-entrypoint.sh`, distroless Node.js's node). A service's `command` replaces it.
   */
  entrypoint: string[];
  /** The image's CMD, the entrypoint's arguments; a service's `args` replace it. */
  cmd: string[];
  env: Record<string, string>;
  /** The container path the command runs in. */
  workdir: string;
  user?: string;
  exposedPorts: string[];
  labels: Record<string, string>;
}

/** A Dockerfile the local build can carry out. */
export interface DockerPlan {
  /** The stages the image needs, in the order they are built. */
  stages: PlannedStage[];
  /** Steps in all of them: the N of `Step i/N`. */
  total: number;
  /** Lines for stages the image does not need (not built, as BuildKit skips them). */
  skipped: string[];
  /** Lines printed before the first step (about directives). */
  preamble: string[];
  image: PlannedImage;
}
