/** The planner's state of one stage while it is planned, and the variables its instructions expand. */
import type {PlanStep, StageBase} from './plan-types';
import {IMAGE_SYSTEM_PATH} from './container-paths';

/** A stage while it is planned: its image config so far and what it reads from. */
export interface StageState {
  index: number;
  name?: string;
  base: StageBase;
  /** The Node.js image at the root of its FROM chain. */
  system: 'node' | 'distroless';
  fromLine: number;
  fromText: string;
  steps: PlanStep[];
  env: Map<string, string>;
  /** ARGs in scope; undefined when declared without a value. */
  args: Map<string, string | undefined>;
  workdir: string;
  user?: string;
  exposed: string[];
  labels: Map<string, string>;
  shell?: string[];
  entrypoint?: string[];
  /** undefined: the base image's CMD; [] once an ENTRYPOINT reset it. */
  cmd?: string[];
  /** Whether this stage set CMD itself (an ENTRYPOINT resets only an inherited CMD). */
  cmdHere: boolean;
  /** Stages it reads from (FROM, COPY --from). */
  uses: Set<number>;
}

/** What every instruction may need besides its own stage. */
export interface StageContext {
  stages: StageState[];
  global: Map<string, string | undefined>;
  buildArgs: Record<string, string>;
  escape: string;
  imagePaths: Set<string>;
}

/** The stage's variables, as RUN gets them: ARGs, then ENVs over them (Docker gives ENV precedence). */
export function stageVars(s: StageState): Map<string, string> {
  const vars = new Map<string, string>();
  for (const [k, v] of s.args) if (v !== undefined) vars.set(k, v);
  for (const [k, v] of s.env) vars.set(k, v);
  return vars;
}

/** The variables instructions expand: the stage's, plus the base image's PATH (so `ENV PATH=/app/bin:$PATH` works). */
export function expansionVars(s: StageState): Map<string, string> {
  const vars = stageVars(s);
  if (!vars.has('PATH')) vars.set('PATH', IMAGE_SYSTEM_PATH.join(':'));
  return vars;
}
