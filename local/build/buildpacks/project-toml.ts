/**
 * The build env of a source's project.toml (the Cloud Native Buildpacks project descriptor),
 * as `pack` reads it: `[[build.env]]` in schema 0.1, `[[io.buildpacks.build.env]]` in 0.2.
 */
import {parse} from 'smol-toml';

/** One `name`/`value` pair of the build env. */
export interface EnvPair {
  name: string;
  value: string;
}

/** A project.toml that cannot be used, with what is wrong in it. */
export class ProjectTomlError extends Error {}

/** The build env pairs of project.toml text, in file order; throws a ProjectTomlError naming the problem. */
export function parseProjectToml(text: string): EnvPair[] {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (err) {
    throw new ProjectTomlError(`project.toml is not valid TOML: ${(err as Error).message.split('\n')[0]}`);
  }
  const legacy = table(doc.build)?.env;
  const current = table(table(table(doc.io)?.buildpacks)?.build)?.env;
  const out: EnvPair[] = [];
  for (const [where, list] of [
    ['build.env', legacy],
    ['io.buildpacks.build.env', current],
  ] as const) {
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new ProjectTomlError(`project.toml: ${where} must be an array of tables ([[${where}]])`);
    list.forEach((entry, i) => {
      const e = table(entry);
      if (!e || typeof e.name !== 'string' || !e.name || typeof e.value !== 'string') {
        throw new ProjectTomlError(`project.toml: [[${where}]] entry ${i + 1} needs a name and a string value (name = "X", value = "y")`);
      }
      out.push({name: e.name, value: e.value});
    });
  }
  return out;
}

function table(x: unknown): Record<string, unknown> | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;
}
