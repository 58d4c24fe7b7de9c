// The view at `/sources/{sourceId}`: a source, its claims by topic and metric, and its record:
// how it revised its own figures and how they fared in checks against other sources.
import { getSource } from './api.js';
import { h, linkOrText, replace } from './dom.js';
import { checkItem } from './topic-view.js';
import {
  checkCountsText,
  revisionsText,
  sourceCountsText,
  sourceMetaText,
  spanText,
  stepText,
  valueText,
  when,
} from './format.js';
import { main, params, readParams, readQuery, state } from './state.js';

const claimHref = (claimId) => `/claims/${encodeURIComponent(claimId)}${readQuery()}`;
const topicHref = (topic) => `/topics/${encodeURIComponent(topic)}${readQuery()}`;

function seriesBlock(s) {
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
    h(
      'table',
      { class: 'points' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Stated', 'Figure', 'Status', 'Describes', 'Report'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        s.points.map((p) =>
          h(
            'tr',
            { dataset: { status: p.status, claim: p.claimId }, class: `row-${p.status}` },
            h('td', {}, p.statedAt),
            h('td', {}, h('a', { href: claimHref(p.claimId) }, valueText(p.value))),
            h('td', {}, p.corrected && p.status !== 'corrected' ? `${p.status} (corrected)` : p.status),
            h('td', {}, spanText(p.validFrom, p.validTo)),
            h(
              'td',
              {},
              p.reports.map((r) => linkOrText(r.url, r.publisher)),
            ),
          ),
        ),
      ),
    ),
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
      `As of seq ${r.asOfSeq}${params().get('knownAt') ? `, known on ${when(r.knownAt)}` : ''}.`,
    ),
    h('h2', {}, 'Record'),
    r.record.metrics.length === 0 ? h('p', {}, 'No figure to compare yet.') : null,
    r.record.metrics.map(recordBlock),
    r.record.uncheckedTopics.length > 0
      ? h('p', { class: 'unchecked' }, `Checks not worked out for: ${r.record.uncheckedTopics.join(', ')}`)
      : null,
    h('h2', {}, 'Claims'),
    r.metrics.length === 0 ? h('p', {}, 'No claims of its own.') : null,
    r.metrics.map(seriesBlock),
  );
  state.refresh = async () => {
    await sourceView(sourceId);
  };
}
