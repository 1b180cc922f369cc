import {stringList} from '../grpc/fields';
import {rpc} from '../grpc/rpc-error';
import type {StoredBuild} from './messages';

// Build fields a filter may name, and how to read them; a small part of what Cloud Build accepts.
const FIELDS: Record<string, (build: StoredBuild) => string[]> = {
  tags: (b) => stringList(b, 'tags'),
  status: (b) => [b.status],
  id: (b) => [b.id],
  build_id: (b) => [b.id],
  images: (b) => stringList(b, 'images'),
};

/**
 * Turns a ListBuilds filter such as `tags="a" AND status="SUCCESS"` into a predicate;
 * an unsupported term is INVALID_ARGUMENT rather than silently matching everything.
 */
export function buildFilter(filter: string | undefined): (build: StoredBuild) => boolean {
  const terms = (filter ?? '').trim();
  if (!terms) return () => true;
  const checks = terms.split(/\s+AND\s+/).map((term) => {
    const m = /^\s*([a-z_]+)\s*=\s*(?:"([^"]*)"|(\S+))\s*$/.exec(term);
    const read = m && FIELDS[m[1]];
    if (!m || !read) throw rpc.invalidArgument(`unsupported filter term: ${term}`);
    const want = m[2] ?? m[3];
    return (build: StoredBuild) => read(build).includes(want);
  });
  return (build) => checks.every((check) => check(build));
}
