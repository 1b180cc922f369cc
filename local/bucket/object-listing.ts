/**
 * One page of the JSON API's objects.list over object names: `prefix`, `delimiter` (names with
 * the delimiter after the prefix are rolled up into `prefixes`, as `gcloud storage ls` shows
 * folders), `maxResults` (items and prefixes together, at most 1000 as Google's) and page
 * tokens. Pure: the names come in sorted, the page goes out.
 */

/** The listing parameters objects.list takes. */
export interface ListQuery {
  prefix?: string;
  delimiter?: string;
  maxResults?: number;
  pageToken?: string;
}

/** A page: the object names listed, the rolled-up prefixes, and a token when more follow. */
export interface ListingPage {
  names: string[];
  prefixes: string[];
  nextPageToken?: string;
}

/** The page of `sortedNames` that `q` asks for. */
export function listingPage(sortedNames: string[], q: ListQuery): ListingPage {
  const prefix = q.prefix ?? '';
  const max = Math.min(1000, Math.max(1, Math.floor(q.maxResults ?? 1000) || 1000));
  const after = q.pageToken ? Buffer.from(q.pageToken, 'base64url').toString('utf8') : undefined;
  // Each entry is an object name or a rolled-up prefix; a page never repeats one.
  const entries: Array<{key: string; prefix: boolean}> = [];
  for (const name of sortedNames) {
    if (!name.startsWith(prefix)) continue;
    const at = q.delimiter ? name.indexOf(q.delimiter, prefix.length) : -1;
    const entry = at >= 0 ? {key: name.slice(0, at + q.delimiter!.length), prefix: true} : {key: name, prefix: false};
    if (after !== undefined && entry.key <= after) continue;
    const last = entries[entries.length - 1];
    if (last && last.prefix && entry.prefix && last.key === entry.key) continue;
    entries.push(entry);
  }
  const page = entries.slice(0, max);
  const out: ListingPage = {
    names: page.filter((e) => !e.prefix).map((e) => e.key),
    prefixes: page.filter((e) => e.prefix).map((e) => e.key),
  };
  if (entries.length > max) out.nextPageToken = Buffer.from(page[page.length - 1].key).toString('base64url');
  return out;
}
