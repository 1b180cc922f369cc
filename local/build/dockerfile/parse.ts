/**
 * The Dockerfile as plain data, read with dockerfile-ast (the parser behind the Docker
 * language server): its instructions with their 1-based line, flags and argument text
 * (continuation lines joined, comment lines inside them dropped, escape directive applied).
 * The planner decides from this and never sees the library's classes.
 */
import {Copy, DockerfileParser, ModifiableInstruction, Run, type Instruction} from 'dockerfile-ast';

/** One `--name=value` flag before an instruction's arguments. */
export interface DockerFlag {
  name: string;
  /** undefined for a bare `--name`. */
  value?: string;
}

/** One instruction as written. */
export interface DockerInstruction {
  /** Upper-cased, e.g. `RUN`. */
  keyword: string;
  /** 1-based line of the instruction's first line. */
  line: number;
  flags: DockerFlag[];
  /** The arguments after the flags, continuation lines joined, escapes and quotes untouched. */
  args: string;
  /** Whether it uses a heredoc (`RUN <<EOF`). */
  heredoc: boolean;
}

/** A parsed Dockerfile. */
export interface ParsedDockerfile {
  /** The escape character (`\`, or `` ` `` from `# escape=`). */
  escape: string;
  /** Parser directives at the top, e.g. `{name: 'syntax', value: 'docker/dockerfile:1'}`. */
  directives: {name: string; value: string}[];
  instructions: DockerInstruction[];
}

/** Parses Dockerfile text; never throws (whatever Docker would refuse, the planner refuses). */
export function parseDockerfile(text: string): ParsedDockerfile {
  const df = DockerfileParser.parse(text);
  return {
    escape: df.getEscapeCharacter(),
    directives: df.getDirectives().map((d) => ({name: d.getName().toLowerCase(), value: d.getValue()})),
    instructions: df.getInstructions().map(instruction),
  };
}

function instruction(i: Instruction): DockerInstruction {
  const flags = i instanceof ModifiableInstruction ? i.getFlags() : [];
  const args = i.getArgumentsContent() ?? '';
  // The parser finds heredocs in RUN and COPY; ADD takes them too.
  const heredoc = i instanceof Run || i instanceof Copy ? i.getHeredocs().length > 0 : /(?:^|\s)<<-?["']?\w/.test(args);
  return {
    keyword: i.getKeyword().toUpperCase(),
    line: i.getRange().start.line + 1,
    flags: flags.map((f) => {
      const value = f.getValue();
      return value === null ? {name: f.getName()} : {name: f.getName(), value};
    }),
    args,
    heredoc,
  };
}
