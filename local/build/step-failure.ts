/**
 * How a failed build step is reported: which step and how it ended, and when a shell could not
 * find a command (exit code 127), which one and what to add, since a source's build tools
 * come from its own dependencies and nowhere else.
 */
import {BuildFailure} from './build-failure';
import type {StepResult} from './run-step';

// The packages behind the commands build scripts call most, to name the one to add.
const PROVIDERS: Record<string, string> = {
  tsc: 'typescript',
  tsx: 'tsx',
  'ts-node': 'ts-node',
  esbuild: 'esbuild',
  vite: 'vite',
  webpack: 'webpack-cli',
  rollup: 'rollup',
  babel: '@babel/cli',
  ncc: '@vercel/ncc',
  next: 'next',
  nest: '@nestjs/cli',
  prisma: 'prisma',
  tsup: 'tsup',
  rimraf: 'rimraf',
};

// dash: "sh: 1: tsc: not found"; bash: "sh: tsc: command not found", "sh: line 1: tsc: command not found".
const NOT_FOUND = /^[\w./-]*sh: (?:line )?(?:\d+: )?([^\s:]+): (?:command )?not found$/;

/** The command a shell said it could not find, from the last lines of a step's output. */
export function missingCommand(tail: string[]): string | undefined {
  for (let i = tail.length - 1; i >= 0; i--) {
    const m = NOT_FOUND.exec(tail[i].trim());
    if (m) return m[1];
  }
  return undefined;
}

/** The BuildFailure of the step `command` (as a person would type it: `npm run gcp-build`, `pnpm install`) that ended as `res`. */
export function stepFailure(command: string[], res: StepResult): BuildFailure {
  const [tool, ...args] = command;
  const step = `${tool} ${args[0] === 'run' ? `run ${args[1]}` : args[0]}`;
  const how = res.code === null ? `killed by ${res.signal}` : `exit code ${res.code}`;
  const missing = res.code === 127 ? missingCommand(res.tail) : undefined;
  if (!missing) return new BuildFailure(`${step} failed (${how})`, res.tail);
  const pkg = PROVIDERS[missing] ? `"${PROVIDERS[missing]}"` : `the package that provides "${missing}"`;
  return new BuildFailure(
    `${step} failed (${how}): the command "${missing}" was not found. Build tools come from the source's own dependencies: ` +
      `add ${pkg} to devDependencies in package.json`,
    res.tail,
  );
}
