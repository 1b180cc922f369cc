/**
 * Docker's rules for the argv of RUN, CMD and ENTRYPOINT: the exec form (a JSON array of
 * strings) as written, the shell form through the SHELL (`/bin/sh -c` by default); and how
 * the node image's own entrypoint treats a CMD. Pure.
 */

/** The default SHELL of Linux images. */
export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** The exec form's argv when `args` is a JSON array of strings (Docker's test), else undefined. */
export function execForm(args: string): string[] | undefined {
  const text = args.trim();
  if (!text.startsWith('[')) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The argv of an instruction in either form: `CMD node a.js` → `['/bin/sh', '-c', 'node a.js']`. */
export function commandArgv(args: string, shell: string[]): {argv: string[]; exec: boolean} {
  const exec = execForm(args);
  return exec ? {argv: exec, exec: true} : {argv: [...shell, args.trim()], exec: false};
}

/** The node image's ENTRYPOINT: the local Cloud Run carries out its rule (see {@link nodeEntrypointArgv}). */
export const NODE_IMAGE_ENTRYPOINT = 'docker-entrypoint.sh';

/** What the node image's docker-entrypoint.sh asks of the container: is this a command, a plain file? */
export interface CommandProbe {
  /** Whether `command -v name` would find it (on PATH, or an executable path). */
  isCommand(name: string): boolean;
  /** Whether `name` is a regular file without the execute bit. */
  isPlainFile(name: string): boolean;
}

/**
 * The argv the node image's docker-entrypoint.sh runs for `cmd`: it puts `node` first when the
 * first argument is a flag, is not a command, or is a file that is not executable — so
 * `CMD ["index.js"]` runs `node index.js` and `CMD ["npm", "start"]` runs npm.
 */
export function nodeEntrypointArgv(cmd: string[], probe: CommandProbe): string[] {
  const [first] = cmd;
  if (first === undefined) return ['node'];
  if (first.startsWith('-') || !probe.isCommand(first) || probe.isPlainFile(first)) return ['node', ...cmd];
  return cmd;
}
