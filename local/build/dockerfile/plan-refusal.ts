/** Thrown inside the planner to end it with a refusal: why, and what to do instead. */
export class PlanRefusal extends Error {
  constructor(
    readonly reason: string,
    readonly todo: string,
  ) {
    super(reason);
    this.name = 'PlanRefusal';
  }
}

/** `0 (build)`: how a stage is named in the build log. */
export function stageLabel(s: {index: number; name?: string}): string {
  return s.name ? `${s.index} (${s.name})` : String(s.index);
}
