// What the page shows and where: its elements, the URL that holds the view's state (path,
// ?publishedBy=, ?knownAt=, ?axis=, ?retracted=1, so a view can be shared), and the seqs the live
// feed compares.
import { queryString } from './api.js';

export const main = /** @type {HTMLElement} */ (document.getElementById('main'));
export const liveStatus = /** @type {HTMLElement} */ (document.getElementById('live'));

export const state = {
  /** The newest seq the live feed announced. */
  liveSeq: 0,
  /** The seq the current view was drawn at. */
  shownSeq: 0,
  /** Re-draws the current view (set by each view). */
  refresh: /** @type {null | ((minSeq?: number) => Promise<void>)} */ (null),
  charts: /** @type {{ resize(): void, destroy(): void }[]} */ ([]),
  /** The live feed was refused for want of a (valid) token. */
  liveRefused: false,
};

export const params = () => new URLSearchParams(location.search);

/**
 * Parameters for the API: the page's `publishedBy` and `knownAt`, when it shows the record as it
 * stood at a past date or instant, and `extra`.
 */
export function readParams(extra = {}) {
  const publishedBy = params().get('publishedBy');
  const knownAt = params().get('knownAt');
  return { ...(publishedBy ? { publishedBy } : {}), ...(knownAt ? { knownAt } : {}), ...extra };
}

/** The query string a link carries so that the view it opens shows the same instant. */
export const readQuery = () => queryString(readParams());

export function setUrl(mutate) {
  const q = params();
  mutate(q);
  const s = q.toString();
  history.replaceState(null, '', `${location.pathname}${s ? `?${s}` : ''}`);
}

/** The source page of `sourceId`, at the instant the current view shows. */
export const sourceHref = (sourceId) => `/sources/${encodeURIComponent(sourceId)}${readQuery()}`;
