import assert from 'node:assert/strict';
import {describe, it} from 'node:test';
import {listingPage, type ListQuery, type ListingPage} from '../../../local/bucket/object-listing';

const NAMES = ['a-b.tgz', 'a.c', 'a/x.tgz', 'a/y/z.tgz', 'hello/v1.tgz', 'hello/v2.tgz', 'top.zip'];
const token = (key: string) => Buffer.from(key).toString('base64url');

describe('objects.list pages', () => {
  const rows: Array<{name: string; q: ListQuery; want: ListingPage}> = [
    {name: 'everything, no delimiter', q: {}, want: {names: NAMES, prefixes: []}},
    {
      name: "delimiter '/': folders roll up, in name order among the objects",
      q: {delimiter: '/'},
      want: {names: ['a-b.tgz', 'a.c', 'top.zip'], prefixes: ['a/', 'hello/']},
    },
    {name: "prefix 'a/' with delimiter: one level down", q: {prefix: 'a/', delimiter: '/'}, want: {names: ['a/x.tgz'], prefixes: ['a/y/']}},
    {name: 'prefix without delimiter: all below', q: {prefix: 'hello/'}, want: {names: ['hello/v1.tgz', 'hello/v2.tgz'], prefixes: []}},
    {name: 'a prefix nothing has', q: {prefix: 'zzz', delimiter: '/'}, want: {names: [], prefixes: []}},
    {
      name: 'maxResults counts objects and prefixes; the token names the last entry',
      q: {delimiter: '/', maxResults: 3},
      want: {names: ['a-b.tgz', 'a.c'], prefixes: ['a/'], nextPageToken: token('a/')},
    },
    {
      name: 'the next page after a prefix does not repeat it or its objects',
      q: {delimiter: '/', maxResults: 3, pageToken: token('a/')},
      want: {names: ['top.zip'], prefixes: ['hello/']},
    },
    {name: 'an exact page: no token', q: {maxResults: 7}, want: {names: NAMES, prefixes: []}},
    {name: 'maxResults above 1000 is 1000; 0 or junk is the default', q: {maxResults: 0}, want: {names: NAMES, prefixes: []}},
    {
      name: 'paging without delimiter',
      q: {maxResults: 2, pageToken: token('a.c')},
      want: {names: ['a/x.tgz', 'a/y/z.tgz'], prefixes: [], nextPageToken: token('a/y/z.tgz')},
    },
  ];
  for (const row of rows) it(row.name, () => assert.deepEqual(listingPage(NAMES, row.q), row.want));

  it('paging through every page gives each entry once', () => {
    const seen: string[] = [];
    let pageToken: string | undefined;
    do {
      const page = listingPage(NAMES, {delimiter: '/', maxResults: 1, pageToken});
      seen.push(...page.names, ...page.prefixes);
      pageToken = page.nextPageToken;
    } while (pageToken);
    assert.deepEqual(seen, ['a-b.tgz', 'a.c', 'a/', 'hello/', 'top.zip']);
  });
});
