// Source names as links to their source pages (`/sources/{sourceId}`), wherever a view names one.
import { h } from './dom.js';
import { checkParts, sourceName } from './format.js';
import { sourceHref } from './state.js';

/** A source's name linking to its page. */
export const sourceLink = (source, props = {}) => h('a', { ...props, href: sourceHref(source.id) }, sourceName(source));

/** The attribution chain, each hop by its name (else its slug) linking to its source's page: "A (spokesperson) → b (relay)". */
export const viaLinks = (via) =>
  (via ?? []).flatMap((v, i) => [i > 0 ? ' → ' : null, sourceLink({ id: v.id, name: v.name }), ` (${v.role})`]);

/** A composite check's sentence with both sources as links (format.js's checkParts). */
export const checkLinks = (c) => checkParts(c).map((p) => (typeof p === 'string' ? p : sourceLink(p)));
