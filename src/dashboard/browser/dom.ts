/**
 * Building elements: text goes in as text nodes only, attributes as attributes, so nothing the
 * API answers (a service name, an error message, a URL) is ever parsed as HTML.
 */

/** A child: an element, text, or nothing. */
export type Child = Node | string | number | false | null | undefined;

/** An element with attributes (`class`, `href`, `aria-*`, …) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return el;
}

/** A `<time>` showing `text`, with the exact instant as its value and tooltip. */
export function time(iso: string, text: string): HTMLTimeElement {
  return h('time', {datetime: iso, title: iso}, text);
}

/** A link the API gave (already checked to be http(s)), opened without access to this page. */
export function link(href: string, text: string): HTMLAnchorElement {
  return h('a', {href, rel: 'noopener noreferrer', target: '_blank'}, text);
}
