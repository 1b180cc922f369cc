/**
 * Docker's word rules for instruction arguments, as BuildKit's shell lexer applies them to
 * ENV, ARG, WORKDIR, COPY, ADD, EXPOSE, USER, LABEL and FROM (never to RUN, CMD or ENTRYPOINT,
 * whose shell form the shell expands itself): quotes are removed, the escape character escapes
 * the next one, `$NAME` and `${NAME}` are replaced, with the `:-`, `-`, `:+`, `+`, `:?` and `?`
 * modifiers. Pure: the variables come in as a map.
 */

/** A word that Docker would refuse too (an unclosed quote, a bad `${}`), with Docker's reason. */
export class WordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WordError';
  }
}

const WHITESPACE = /\s/;

/**
 * Splits `text` at unquoted, unescaped whitespace, keeping the quotes and escapes in each word
 * (the parser's split, done before expansion, so `ENV A=$B` stays one pair whatever $B holds).
 */
export function rawWords(text: string, escape: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (!quote && WHITESPACE.test(ch)) {
      if (word) words.push(word);
      word = '';
      continue;
    }
    word += ch;
    if (ch === escape && quote !== "'" && i + 1 < text.length) word += text[++i];
    else if (quote && ch === quote) quote = '';
    else if (!quote && (ch === '"' || ch === "'")) quote = ch;
  }
  if (word) words.push(word);
  return words;
}

/** One word with its quotes removed and its variables replaced; spaces inside are kept. */
export function expandWord(word: string, vars: ReadonlyMap<string, string>, escape: string): string {
  return new Lexer(word, vars, escape).run(undefined).text;
}

/** Words of `text` after expansion: split at unquoted whitespace, including whitespace an unquoted variable brought in. */
export function expandWords(text: string, vars: ReadonlyMap<string, string>, escape: string): string[] {
  return new Lexer(text, vars, escape).run(undefined).words;
}

class Lexer {
  private pos = 0;

  constructor(
    private readonly src: string,
    private readonly vars: ReadonlyMap<string, string>,
    private readonly escape: string,
  ) {}

  /** Reads up to `stop` (consumed) or the end; `text` keeps spaces, `words` splits as the shell would. */
  run(stop: string | undefined): {text: string; words: string[]} {
    let text = '';
    const words: string[] = [];
    let word = '';
    let inWord = false;
    const split = (s: string) => {
      for (const ch of s) {
        if (!WHITESPACE.test(ch)) {
          word += ch;
          inWord = true;
        } else if (inWord) {
          words.push(word);
          [word, inWord] = ['', false];
        }
      }
    };
    while (this.pos < this.src.length) {
      const ch = this.src[this.pos];
      if (stop !== undefined && ch === stop) {
        this.pos++;
        if (inWord) words.push(word);
        return {text, words};
      }
      if (ch === '$') {
        const value = this.dollar();
        text += value;
        split(value);
      } else if (ch === "'" || ch === '"') {
        const value = ch === "'" ? this.single() : this.double();
        text += value;
        word += value;
        inWord = true;
      } else if (ch === this.escape) {
        this.pos++;
        if (this.pos >= this.src.length) break;
        const next = this.src[this.pos++];
        text += next;
        word += next;
        inWord = true;
      } else {
        this.pos++;
        text += ch;
        split(ch);
      }
    }
    if (stop !== undefined) throw new WordError(`unexpected end of statement while looking for matching ${stop}`);
    if (inWord) words.push(word);
    return {text, words};
  }

  private single(): string {
    const end = this.src.indexOf("'", this.pos + 1);
    if (end < 0) throw new WordError('unexpected end of statement while looking for matching single-quote');
    const value = this.src.slice(this.pos + 1, end);
    this.pos = end + 1;
    return value;
  }

  private double(): string {
    this.pos++;
    let value = '';
    for (;;) {
      if (this.pos >= this.src.length) throw new WordError('unexpected end of statement while looking for matching double-quote');
      const ch = this.src[this.pos];
      if (ch === '"') {
        this.pos++;
        return value;
      }
      if (ch === '$') {
        value += this.dollar();
        continue;
      }
      this.pos++;
      if (ch === this.escape) {
        const next = this.src[this.pos];
        if (next === undefined) continue;
        // Only these are escaped inside double quotes; any other escape stays as written.
        if (next === '"' || next === '$' || next === this.escape) {
          this.pos++;
          value += next;
          continue;
        }
      }
      value += ch;
    }
  }

  private dollar(): string {
    this.pos++;
    if (this.src[this.pos] !== '{') {
      const name = this.name();
      return name ? (this.vars.get(name) ?? '') : '$';
    }
    this.pos++;
    const first = this.src[this.pos];
    if (first === undefined) throw new WordError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new WordError('syntax error: bad substitution');
    const name = this.name();
    let op = this.src[this.pos++];
    if (op === '}') return this.vars.get(name) ?? '';
    let emptyIsUnset = false;
    if (op === ':') {
      emptyIsUnset = true;
      op = this.src[this.pos++];
    }
    if (op !== '-' && op !== '+' && op !== '?') {
      throw new WordError(
        `the substitution \${${name}${emptyIsUnset ? ':' : ''}${op ?? ''}…} is not supported by the local build: use \${${name}}, \${${name}:-default} or \${${name}:+value}`,
      );
    }
    const word = this.run('}').text;
    const value = this.vars.get(name);
    const unset = value === undefined || (emptyIsUnset && value === '');
    if (op === '-') return unset ? word : value;
    if (op === '+') return unset ? '' : word;
    if (unset)
      throw new WordError(`${name}: ${word || (value === undefined ? 'is not allowed to be unset' : 'is not allowed to be empty')}`);
    return value;
  }

  private name(): string {
    const m = /^(?:\d+|[@*#?$!0-]|[A-Za-z_][A-Za-z0-9_]*)/.exec(this.src.slice(this.pos));
    if (!m) return '';
    this.pos += m[0].length;
    return m[0];
  }
}
