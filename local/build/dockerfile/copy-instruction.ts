/**
 * The planner's rules for COPY and ADD: where the files come from (the build context or an
 * earlier stage), where they go (a container path, relative ones under WORKDIR), which flags
 * apply, and what ADD does that the local build will not (fetch URLs, unpack archives). Pure.
 */
import {posix} from 'node:path';
import type {DockerInstruction} from './parse';
import type {PlanStep} from './plan-types';
import {PlanRefusal} from './plan-refusal';
import {execForm} from './command';
import {expansionVars, type StageContext, type StageState} from './stage-state';
import {expandWord, rawWords} from './words';

const URL = /^(?:[a-z][a-z0-9+.-]*:\/\/|git@)/i;
// ADD unpacks a local tar archive (Docker tells by content; these names are how one is recognised here).
const ARCHIVE = /\.(?:tar|tgz|tbz2?|txz|tar\.(?:gz|bz2|xz|zst))$/i;
const ELSEWHERE = 'or deploy on Google Cloud, where it builds as it is';

/** Plans one COPY or ADD of stage `s`. */
export function copyStep(ins: DockerInstruction, step: PlanStep, s: StageState, ctx: StageContext): void {
  const add = ins.keyword === 'ADD';
  const vars = expansionVars(s);
  let from: 'context' | number = 'context';
  let chmod: number | undefined;
  for (const flag of ins.flags) {
    const value = expandWord(flag.value ?? '', vars, ctx.escape);
    if (flag.name === 'from' && !add) from = sourceStage(value, s, ctx);
    else if (flag.name === 'chown')
      step.notes.push(`--chown=${value} is ignored: the local build cannot change owners, the files are yours`);
    else if (flag.name === 'chmod') {
      if (!/^[0-7]{3,4}$/.test(value)) throw new PlanRefusal(`--chmod=${value} is not an octal mode`, 'write --chmod=755 or --chmod=0644');
      chmod = parseInt(value, 8);
    } else if (flag.name === 'link') step.notes.push('--link is ignored: it changes how layers are cached, not what the image holds');
    else throw new PlanRefusal(`${ins.keyword} --${flag.name} is not supported by the local build`, `remove the flag, ${ELSEWHERE}`);
  }
  if (ins.heredoc) {
    throw new PlanRefusal(
      `${ins.keyword} with a heredoc (<<EOF) is not supported by the local build`,
      'put the content in a file of the source and COPY it',
    );
  }
  const words = (execForm(ins.args) ?? rawWords(ins.args, ctx.escape)).map((w) => expandWord(w, vars, ctx.escape));
  if (words.length < 2)
    throw new PlanRefusal(`${ins.keyword} needs a source and a destination`, `write ${ins.keyword} <source>... <destination>`);
  const dest = words[words.length - 1];
  const sources = words.slice(0, -1).map((src) => {
    if (add && URL.test(src)) {
      throw new PlanRefusal(
        `ADD ${src} downloads into the image at build time, which the local build does not do`,
        `add the file to the source and COPY it, ${ELSEWHERE}`,
      );
    }
    if (add && from === 'context' && ARCHIVE.test(src)) {
      throw new PlanRefusal(
        `ADD ${src} unpacks the archive into the image, which the local build does not do`,
        `unpack it in the source and COPY the folder, ${ELSEWHERE}`,
      );
    }
    return from === 'context' ? contextPath(src) : posix.resolve('/', src).slice(1);
  });
  const destDir = /(?:^|\/)\.?$/.test(dest) || dest.endsWith('/');
  if (sources.length > 1 && !dest.endsWith('/')) {
    throw new PlanRefusal(
      `with more than one source, the destination "${dest}" must be a folder ending with /`,
      `write ${ins.keyword} ${words.slice(0, -1).join(' ')} ${dest}/`,
    );
  }
  const path = posix.resolve(s.workdir, dest);
  if (path !== '/') ctx.imagePaths.add(path);
  step.action = {op: 'copy', from, sources, dest: path, destDir, ...(chmod === undefined ? {} : {chmod})};
}

/** A source in the build context as a relative path ('' for the whole context); refused when it leaves the context. */
function contextPath(src: string): string {
  const rel = posix.normalize(src.replace(/^\/+/, '') || '.');
  if (rel === '..' || rel.startsWith('../')) {
    throw new PlanRefusal(`"${src}" is outside the build context`, 'COPY only files inside the uploaded source');
  }
  return rel === '.' ? '' : rel.replace(/\/+$/, '');
}

/** The stage `COPY --from=<value>` reads: an earlier stage by name or index; an image is refused. */
function sourceStage(value: string, s: StageState, ctx: StageContext): number {
  const byName = ctx.stages.find((st) => st.name === value.toLowerCase());
  const index = byName ? byName.index : /^\d+$/.test(value) ? Number(value) : undefined;
  if (index === undefined) {
    throw new PlanRefusal(
      `COPY --from=${value} copies from the image "${value}", and the local build has no images to pull`,
      `copy from a stage of this Dockerfile (COPY --from=<stage>) instead, ${ELSEWHERE}`,
    );
  }
  if (index >= s.index) throw new PlanRefusal(`COPY --from=${value} names this stage or a later one`, 'copy from an earlier stage');
  s.uses.add(index);
  return index;
}
