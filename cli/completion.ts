/**
 * `dropdeploy completion bash`: a bash completion script made from the syntax table, so it
 * offers exactly the commands and flags the parser takes. It completes commands, flags and fixed
 * words (`env <service> set|unset`) and the values of flags that take a fixed few (`--strategy`),
 * not service names: that would mean calling the API on every Tab.
 */
import {COMMANDS, COMMAND_NAMES, GLOBAL_OPTIONS, flagOf, type CommandName} from './syntax';

const words = (xs: string[]): string => xs.join(' ');

/** The flags `name` takes (all of them, on the command line before any command). */
function flagsOf(name?: CommandName): string[] {
  return [...(name ? COMMANDS[name].options : []), ...GLOBAL_OPTIONS].map((o) => flagOf(o).flag).concat('--help');
}

/** What may stand as argument `n` (0: the first) of `name`. */
function argOf(name: CommandName, n: 0 | 1): string[] {
  if (n === 0 && name === 'help') return COMMAND_NAMES;
  if (n === 0 && name === 'completion') return ['bash'];
  if (n === 1 && name === 'env') return ['set', 'unset'];
  return [];
}

/** The script; bash 3.2 (macOS) and later. */
export function bashCompletion(): string {
  const valueFlags = new Set(
    [...GLOBAL_OPTIONS, ...COMMAND_NAMES.flatMap((n) => COMMANDS[n].options)]
      .map(flagOf)
      .filter((f) => f.takesValue)
      .map((f) => f.flag),
  );
  const choices = [...GLOBAL_OPTIONS, ...COMMAND_NAMES.flatMap((n) => COMMANDS[n].options)].flatMap((o) =>
    o.choices ? [`    ${flagOf(o).flag}) offer='${words(o.choices)}' ;;`] : [],
  );
  const arms = [
    `    '') flags='${words(flagsOf())}'; args='${words(COMMAND_NAMES)}'; args1='' ;;`,
    ...COMMAND_NAMES.map((n) => `    ${n}) flags='${words(flagsOf(n))}'; args='${words(argOf(n, 0))}'; args1='${words(argOf(n, 1))}' ;;`),
  ];
  return `# bash completion for dropdeploy: source <(dropdeploy completion bash)
_dropdeploy() {
  local line=\${COMP_LINE:0:COMP_POINT} cur='' cmd='' value='' n=0 word flags args args1
  local -a words
  read -ra words <<<"$line"
  # The word under the cursor; none right after a space.
  if [[ $line != *[[:space:]] ]]; then
    cur=\${words[\${#words[@]}-1]}
    unset "words[\${#words[@]}-1]"
  fi
  for word in "\${words[@]:1}"; do
    if [[ -n $value ]]; then value=''; continue; fi
    case $word in
      ${[...valueFlags].join('|')}) value=$word ;;
      -*) ;;
      *) if [[ -z $cmd ]]; then cmd=$word; else n=$((n + 1)); fi ;;
    esac
  done
  # A flag's value: its choices, if it has a fixed few; else (a URL, a number) nothing to offer.
  if [[ -n $value ]]; then
    local offer=''
    case $value in
${choices.join('\n')}
    esac
    COMPREPLY=()
    while IFS= read -r word; do COMPREPLY+=("$word"); done < <(compgen -W "$offer" -- "$cur")
    return 0
  fi
  [[ $cur == *=* ]] && return 0
  case $cmd in
${arms.join('\n')}
    *) return 0 ;;
  esac
  local offer=''
  if [[ $cur == -* ]]; then offer=$flags; elif ((n == 0)); then offer=$args; elif ((n == 1)); then offer=$args1; fi
  COMPREPLY=()
  while IFS= read -r word; do COMPREPLY+=("$word"); done < <(compgen -W "$offer" -- "$cur")
}
complete -F _dropdeploy dropdeploy
`;
}
