import {join} from 'node:path';

/** The repository root: every file of local/ compiles to dist/local/, this one to dist/local/repo-root.js. */
export const REPO_ROOT = join(__dirname, '..', '..');
