// The page's client of the JSON API: the read token, GETs and their errors, and the paged reads
// (`/v1/topics`, a metric's history) followed to their last page.
import { joinHistoryPages, joinSourcePages, joinTopicPages, readPages } from './pages.js';

// A server started with CLAIMTRAIL_REQUIRE_READ_TOKEN=1 answers 401 without a token with the
// `read` scope. The page then asks for one and keeps it for this tab only (sessionStorage).
const TOKEN_KEY = 'claimtrail.readToken';
export const readToken = () => sessionStorage.getItem(TOKEN_KEY);
export const saveToken = (token) => sessionStorage.setItem(TOKEN_KEY, token);

/** Thrown on a 401: the page asks for a token instead of showing an error. */
export class NeedsToken extends Error {}

export function authHeaders(accept) {
  const token = readToken();
  return token ? { accept, authorization: `Bearer ${token}` } : { accept };
}

/** "?a=1&b=2" of the parameters that are set (not undefined or null), or "". */
export function queryString(params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function get(path, params) {
  const res = await fetch(`${path}${queryString(params)}`, { headers: authHeaders('application/json') });
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) throw new NeedsToken(body.detail ?? 'a read token is required');
  if (!res.ok) throw new Error(body.detail ?? body.title ?? `${res.status} ${res.statusText}`);
  return body;
}

const topicPath = (topic) => `/v1/topics/${encodeURIComponent(topic)}`;

export const getSummary = (topic, params) => get(`${topicPath(topic)}/summary`, params);
export const getTimeline = (topic, params) => get(`${topicPath(topic)}/timeline`, params);
export const getClaim = (claimId, params) => get(`/v1/claims/${encodeURIComponent(claimId)}`, params);

// Topic pages are not pinned to the first page's instant: they come in slug order, so a topic is
// on one page whatever the checkpoint, and "now" pages are shared by every reader at a
// checkpoint where a pinned page would cost a statement each.
const topicPages = (params, enough) => readPages((cursor) => get('/v1/topics', { ...params, cursor }), enough);

/** Every topic, all pages. */
export async function getTopics(params) {
  return joinTopicPages(await topicPages(params));
}

/**
 * One topic's entry in the topics list (its label, its metrics), or null when the list has none.
 * The walk stops at the page that holds the slug or the first one past it.
 */
export async function findTopic(topic, params) {
  const pages = await topicPages(params, (page) => page.topics.some((t) => t.topic >= topic));
  return pages.at(-1)?.topics.find((t) => t.topic === topic) ?? null;
}

/**
 * A metric's whole history, all pages joined. The pages after the first are asked as of the
 * first's `knownAt`, so that a claim recorded meanwhile cannot shift them or change a status.
 */
export async function getHistory(topic, metric, params) {
  const path = `${topicPath(topic)}/metrics/${encodeURIComponent(metric)}/history`;
  let knownAt = params.knownAt;
  const pages = await readPages(async (cursor) => {
    const page = await get(path, cursor === undefined ? params : { ...params, knownAt, cursor });
    knownAt ??= page.knownAt;
    return page;
  });
  const history = joinHistoryPages(pages);
  // When the whole history arrived: the benchmark times the chart's drawing from here (chart.js marks its end).
  performance.mark(`claimtrail:history:${topic}/${metric}`);
  return history;
}

/**
 * A source with all its points, its pages joined; the pages after the first are asked as of the
 * first's `knownAt`, as a history's are.
 */
export async function getSource(sourceId, params) {
  const path = `/v1/sources/${encodeURIComponent(sourceId)}`;
  let knownAt = params.knownAt;
  const pages = await readPages(async (cursor) => {
    const page = await get(path, cursor === undefined ? params : { ...params, knownAt, cursor });
    knownAt ??= page.knownAt;
    return page;
  });
  return joinSourcePages(pages);
}
