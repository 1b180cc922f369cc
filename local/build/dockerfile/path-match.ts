/**
 * Docker's wildcards in COPY and ADD sources: Go's filepath.Match on the whole relative path,
 * where `*` and `?` never cross a `/`, `[a-z]` and `[^a-z]` are classes and `\` escapes. Pure.
 */

/** Whether a COPY source has wildcards (and so may match none, or many). */
export function hasWildcard(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/** The RegExp that matches what `pattern` matches; throws on a malformed class, as Go's ErrBadPattern. */
export function matcher(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else if (ch === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]);
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new Error(`the pattern "${pattern}" has a "[" without its "]"`);
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^/' : ''}${body.replace(/[\]\\^]/g, (c) => `\\${c}`)}]`;
      i = end;
    } else re += escapeRe(ch);
  }
  return new RegExp(`^${re}$`);
}

function escapeRe(ch: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(ch) ? `\\${ch}` : ch;
}
