/**
 * What a RUN cannot do faithfully on this machine: change the image's system (packages, users)
 * when there is no image system, or write to the image's folders by absolute path, which here
 * would be this machine's own folders. Pure: the checks read the command's words only.
 */

/** Why a RUN is refused and what to do instead, or undefined when it can run here. */
export interface RunProblem {
  reason: string;
  todo: string;
}

const ELSEWHERE = 'remove the Dockerfile to build with buildpacks, or deploy on Google Cloud, where it builds as it is';

// System package managers: they install into the image's operating system, which the local build does not have.
const PACKAGE_MANAGERS = new Set(['apt-get', 'apt', 'aptitude', 'dpkg', 'apk', 'yum', 'dnf', 'microdnf', 'rpm', 'zypper', 'pacman']);
// They change the image's /etc/passwd and /etc/group; here that would be this machine's.
const USER_TOOLS = new Set(['useradd', 'adduser', 'groupadd', 'addgroup', 'usermod', 'groupmod', 'userdel', 'deluser']);

/** The words of a command (shell operators and quotes removed), good enough to spot program names and paths. */
export function commandWords(argv: string[], exec: boolean): string[] {
  const text = exec ? argv : [argv[argv.length - 1] ?? ''];
  return text
    .flatMap((t) => t.split(/[\s;&|()<>`]+/))
    .map((w) => w.replace(/^['"]+|['"]+$/g, '').replace(/^[\w-]+=/, ''))
    .filter(Boolean);
}

/**
 * The problem with a RUN of `words`, where `imagePaths` are the container folders the
 * Dockerfile sets up (WORKDIR, COPY destinations), each absolute and without a trailing slash.
 */
export function runProblem(words: string[], imagePaths: ReadonlySet<string>): RunProblem | undefined {
  for (const word of words) {
    const name = word.slice(word.lastIndexOf('/') + 1);
    if (PACKAGE_MANAGERS.has(name)) {
      return {
        reason: `"${name}" installs system packages into the image, and the local build has no image system: it runs RUN on this machine, without a container`,
        todo: `${ELSEWHERE}; a Node.js package can come from package.json instead`,
      };
    }
    if (USER_TOOLS.has(name)) {
      return {
        reason: `"${name}" changes the image's users, and without a container it would change this machine's`,
        todo: `drop it to build locally (USER is recorded, but the local run cannot switch users), or ${ELSEWHERE}`,
      };
    }
  }
  for (const word of words) {
    if (!word.startsWith('/')) continue;
    const path = word.replace(/\/+$/, '') || '/';
    for (const dir of imagePaths) {
      if (path === dir || path.startsWith(`${dir}/`)) {
        return {
          reason:
            `it uses the image path "${word}" by absolute path; the local build keeps the image's files in a folder of its own ` +
            `and runs RUN on this machine, where "${word}" is this machine's own path`,
          todo: `use a path relative to the WORKDIR (RUN runs there, as it does in Docker), or ${ELSEWHERE}`,
        };
      }
    }
  }
  return undefined;
}
