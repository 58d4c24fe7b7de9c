// The view at `/sources/{sourceId}`: a source, its claims by topic and metric, and its record:
// how it revised its own figures and how they fared in checks against other sources.
import { getSource } from './api.js';
import { h, replace } from './dom.js';
import { checkItem, dataTable } from './topic-view.js';
import {
  checkCountsText,
  dateText,
  revisionsText,
  sourceCountsText,
  sourceMetaText,
  stepText,
  when,
} from './format.js';
import { main, params, readParams, readQuery, state } from './state.js';

const claimHref = (claimId) => `/claims/${encodeURIComponent(claimId)}${readQuery()}`;
const topicHref = (topic) => `/topics/${encodeURIComponent(topic)}${readQuery()}`;

/**
 * One topic and metric of the source's claims: the topic page's table, every CSV column, and the
 * CSV of these claims alone. `source`: the source as the answer names it.
 */
function seriesBlock(s, source) {
  const table = dataTable(s.topic, s.metric, s.unit, [{ source, points: s.points }], true, { source: source.id });
  table.fill();
  return h(
    'section',
    { class: 'source-series', dataset: { topic: s.topic, metric: s.metric, points: String(s.points.length) } },
    h(
      'h3',
      {},
      h('a', { href: topicHref(s.topic) }, s.topic),
      ` · ${s.metric}`,
      h('span', { class: 'meta' }, ` · ${s.unit}`),
    ),
    table.block,
  );
}

function recordBlock(m) {
  return h(
    'section',
    { class: 'source-record', dataset: { topic: m.topic, metric: m.metric } },
    h('h3', {}, h('a', { href: topicHref(m.topic) }, m.topic), ` · ${m.metric}`),
    h('p', { class: 'revisions' }, revisionsText(m)),
    m.steps.length === 0
      ? null
      : h(
          'ol',
          { class: 'steps' },
          m.steps.map((s) =>
            h(
              'li',
              { dataset: { change: String(s.change), days: String(s.days) } },
              stepText(s),
              ' ',
              h('a', { href: claimHref(s.to.claimId) }, 'claim'),
            ),
          ),
        ),
    h('p', { class: 'check-counts' }, checkCountsText(m.checks)),
    m.checks.checks.length === 0
      ? null
      : h(
          'ul',
          {},
          m.checks.checks.map((c) => {
            const li = checkItem(c);
            li.dataset.side = c.side;
            return li;
          }),
        ),
  );
}

export async function sourceView(sourceId) {
  const r = await getSource(sourceId, readParams({ includeRetracted: 'true' }));
  state.shownSeq = r.asOfSeq;
  const s = r.source;
  const name = s.name ?? s.id;
  document.title = `claimtrail: ${name}`;
  const meta = sourceMetaText(s);
  replace(
    main,
    h('p', {}, h('a', { href: `/${readQuery()}` }, '← Topics')),
    h('h1', {}, name),
    h('p', { class: 'meta' }, [s.id, meta].filter((x) => x !== '').join(' · ')),
    h('p', { class: 'source-counts' }, sourceCountsText(s)),
    h(
      'p',
      { class: 'as-of', role: 'status' },
      `As of seq ${r.asOfSeq}${r.publishedBy ? `, published by ${dateText(r.publishedBy)}` : ''}${params().get('knownAt') ? `, known on ${when(r.knownAt)}` : ''}.`,
    ),
    h('h2', {}, 'Record'),
    r.record.metrics.length === 0 ? h('p', {}, 'No figure to compare yet.') : null,
    r.record.metrics.map(recordBlock),
    r.record.uncheckedTopics.length > 0
      ? h('p', { class: 'unchecked' }, `Checks not worked out for: ${r.record.uncheckedTopics.join(', ')}`)
      : null,
    h('h2', {}, 'Claims'),
    r.metrics.length === 0 ? h('p', {}, 'No claims of its own.') : null,
    r.metrics.map((m) => seriesBlock(m, s)),
  );
  state.refresh = async () => {
    await sourceView(sourceId);
  };
}
