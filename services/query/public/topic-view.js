// The view at `/topics/{topic}`: the "known on" slider, and per metric a chart, the latest
// figure per source, the composite checks and every claim as a table.
import { findTopic, getHistory, getSummary, getTimeline } from './api.js';
import { createChart, PALETTE } from './chart.js';
import { h, linkOrText, replace } from './dom.js';
import {
  changeText,
  envelopeText,
  gapText,
  instantText,
  metricMetaText,
  metricTitle,
  topicTitle,
  valueText,
  when,
} from './format.js';
import { showLiveStatus } from './live-feed.js';
import { showError } from './show-error.js';
import { main, params, readParams, readQuery, setUrl, state } from './state.js';
import { checkLinks, sourceLink, viaLinks } from './source-links.js';
import {
  checkGroups,
  conflictParts,
  exceedsText,
  leftOffText,
  pairParts,
  statedText,
  unalignedText,
} from './summary-format.js';

const claimHref = (claimId) => `/claims/${encodeURIComponent(claimId)}${readQuery()}`;

function sliderBlock(timeline, onPick) {
  const instants = timeline.instants;
  const knownAt = params().get('knownAt');
  let index = instants.length;
  if (knownAt) {
    const t = Date.parse(knownAt);
    index = 0;
    instants.forEach((it, i) => {
      if (Date.parse(it.knownAt) <= t) index = i;
    });
  }
  const labelOf = (i) => instantText(instants[i]);
  const output = h('output', { for: 'known-on', id: 'known-on-value' }, labelOf(index));
  const slider = /** @type {HTMLInputElement} */ (
    h('input', {
      type: 'range',
      id: 'known-on',
      name: 'knownOn',
      min: '0',
      max: String(instants.length),
      step: '1',
      value: String(index),
      'aria-valuetext': labelOf(index),
    })
  );
  let timer;
  const pick = () => {
    const i = Number(slider.value);
    output.textContent = labelOf(i);
    slider.setAttribute('aria-valuetext', labelOf(i));
    clearTimeout(timer);
    timer = setTimeout(() => onPick(i >= instants.length ? null : instants[i].knownAt), 120);
  };
  slider.addEventListener('input', pick);
  const now = h(
    'button',
    { type: 'button', id: 'known-now', onclick: () => ((slider.value = String(instants.length)), pick()) },
    'Now',
  );
  return h(
    'div',
    { class: 'control known-on' },
    h('label', { for: 'known-on' }, 'Known on'),
    slider,
    now,
    h('div', { class: 'known-on-label' }, output),
  );
}

function latestBlock(m, colourOf) {
  return h(
    'section',
    { class: 'latest', 'aria-label': `Latest ${metricTitle(m)} per source` },
    h('h3', {}, 'Latest per source'),
    m.latest.length === 0 ? h('p', {}, 'No active figure.') : null,
    h(
      'ul',
      {},
      m.latest.map((l) =>
        h(
          'li',
          { dataset: { source: l.source.id, claim: l.claimId } },
          h('span', {
            class: 'swatch',
            style: `background:${PALETTE[colourOf(l.source.id) % PALETTE.length]}`,
            'aria-hidden': 'true',
          }),
          sourceLink(l.source, { class: 'who' }),
          ' ',
          h('a', { class: 'figure', href: claimHref(l.claimId) }, valueText(l.value)),
          h('span', { class: 'stated' }, ` (${l.statedAt})`),
          l.previous ? h('span', { class: 'change' }, changeText(l)) : null,
        ),
      ),
    ),
    m.envelope ? h('p', { class: 'envelope' }, envelopeText(m.envelope)) : null,
  );
}

/** A composite check: its status, both sources as links, the gap or the part above the total, when stated. */
export function checkItem(c) {
  return h(
    'li',
    {
      class: `check check-${c.status}`,
      dataset: { status: c.status, componentSource: c.componentSource.id, compositeSource: c.compositeSource.id },
    },
    h('span', { class: `badge badge-${c.status}` }, c.status.replaceAll('_', ' ')),
    ' ',
    checkLinks(c),
    c.gap !== null ? h('strong', { class: 'gap' }, gapText(c)) : null,
    c.status === 'part_exceeds_total' ? h('strong', { class: 'exceeds' }, exceedsText(c)) : null,
    h('span', { class: 'stated' }, statedText(c)),
  );
}

/**
 * A composite metric's checks per pair of sources: each pair's checks (claims aligned in time),
 * then only the count of its claims too far apart to check.
 */
function checksBlock(m, toleranceDays) {
  if (!m.composedOf || m.composedOf.length === 0) return null;
  const groups = checkGroups(m);
  const leftOff = leftOffText(m);
  return h(
    'section',
    { class: 'checks', 'aria-label': `Checks of ${metricTitle(m)}` },
    h('h3', {}, `Checks: ${m.composedOf.join(' + ')}`),
    groups.length === 0 && m.skipped.length === 0 ? h('p', {}, 'No source gives every part yet.') : null,
    groups.map((g) =>
      h(
        'div',
        {
          class: 'check-pair',
          dataset: { componentSource: g.componentSource.id, compositeSource: g.compositeSource.id },
        },
        h(
          'h4',
          {},
          pairParts(g).map((p) => (typeof p === 'string' ? p : sourceLink(p))),
        ),
        h(
          'ul',
          {},
          g.checks.map(checkItem),
          g.unaligned > 0 ? h('li', { class: 'unaligned' }, unalignedText(g.unaligned, toleranceDays)) : null,
        ),
      ),
    ),
    m.skipped.length > 0
      ? h(
          'ul',
          {},
          m.skipped.map((s) =>
            h('li', { class: 'check check-skipped' }, h('span', { class: 'badge' }, 'skipped'), ' ', s.reason),
          ),
        )
      : null,
    leftOff ? h('p', { class: 'left-off' }, leftOff) : null,
  );
}

/** Pairs of sources whose figures for the same time do not overlap, the lower one first. */
function conflictsBlock(m) {
  if (m.conflicts.length === 0) return null;
  return h(
    'section',
    { class: 'conflicts', 'aria-label': `Conflicts over ${metricTitle(m)}` },
    h('h3', {}, 'Sources that disagree'),
    h(
      'ul',
      {},
      m.conflicts.map((c) =>
        h(
          'li',
          { class: 'conflict', dataset: { lower: c.a.source.id, upper: c.b.source.id } },
          conflictParts(c).map((p) => (typeof p === 'string' ? p : sourceLink(p))),
        ),
      ),
    ),
    m.conflictsLeftOff > 0
      ? h('p', { class: 'left-off' }, `${m.conflictsLeftOff.toLocaleString('en')} more not listed`)
      : null,
  );
}

function dataTable(metric, series) {
  return h(
    'details',
    { class: 'data' },
    h('summary', {}, `Every ${metric} claim as a table`),
    h(
      'table',
      { class: 'points' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Source', 'Stated', 'Figure', 'Status', 'Quote', 'Via', 'Report'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        series.flatMap((s) =>
          s.points.map((p) =>
            h(
              'tr',
              { dataset: { source: s.source.id, status: p.status, claim: p.claimId }, class: `row-${p.status}` },
              h('td', {}, sourceLink(s.source)),
              h('td', {}, p.statedAt),
              h('td', {}, h('a', { href: claimHref(p.claimId) }, valueText(p.value))),
              h('td', {}, p.status),
              h('td', { class: 'quote' }, p.quote ?? ''),
              h('td', {}, viaLinks(p.via)),
              h(
                'td',
                {},
                p.reports.map((r) => linkOrText(r.url, r.publisher)),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

function legendKey() {
  return h(
    'p',
    { class: 'key' },
    '● exact · ○ approximate · ○ with ^ at least · ○ with v at most · | range · ✕ retracted · faded: superseded · grey band: envelope across sources',
  );
}

/** Colours by first appearance, so a source keeps its colour when another one shows up. */
function coloursByFirstSeq(histories) {
  const firstSeq = new Map();
  for (const s of histories.flatMap((hs) => hs.series)) {
    const seq = Math.min(...s.points.map((p) => p.seq));
    firstSeq.set(s.source.id, Math.min(firstSeq.get(s.source.id) ?? Infinity, seq));
  }
  const sourceIds = [...firstSeq.keys()].sort((a, b) => firstSeq.get(a) - firstSeq.get(b) || a.localeCompare(b));
  return (id) => Math.max(0, sourceIds.indexOf(id));
}

function metricSection(m, hist, colourOf, showRetracted, toleranceDays) {
  const chartBox = h('div', {
    class: 'chart',
    role: 'img',
    'aria-label': `${metricTitle(m)}: step lines per source over the date stated; details in the table below`,
  });
  const series = hist.series.map((s) => ({
    ...s,
    points: s.points.filter((p) => showRetracted || p.status !== 'retracted'),
  }));
  const points = series.reduce((n, s) => n + s.points.length, 0);
  const section = h(
    'section',
    { class: 'metric', id: `metric-${m.metric}`, dataset: { metric: m.metric, points: String(points) } },
    h('h2', {}, metricTitle(m), h('span', { class: 'meta' }, metricMetaText(m))),
    h(
      'div',
      { class: 'metric-body' },
      h('div', { class: 'chart-col' }, chartBox),
      h('aside', {}, latestBlock(m, colourOf), checksBlock(m, toleranceDays), conflictsBlock(m)),
    ),
    dataTable(m.metric, series),
  );
  return { section, chartBox };
}

export async function topicView(topic) {
  document.title = `claimtrail: ${topic}`;
  const heading = h('h1', {}, topic);
  const controls = h('div', { class: 'controls' });
  const body = h('div', { class: 'metrics' });
  const status = h('p', { class: 'as-of', role: 'status' });
  replace(main, h('p', {}, h('a', { href: `/${readQuery()}` }, '← Topics')), heading, controls, status, body);

  async function draw(minSeq) {
    const showRetracted = params().get('retracted') === '1';
    const [timeline, summary, entry] = await Promise.all([
      getTimeline(topic, { minSeq }),
      getSummary(topic, readParams({ minSeq })),
      // The label only names the topic: without it the heading is the slug, and the charts still show.
      findTopic(topic, readParams()).catch(() => null),
    ]);
    const histories = await Promise.all(
      summary.metrics.map((m) => getHistory(topic, m.metric, readParams({ includeRetracted: 'true', minSeq }))),
    );
    state.shownSeq = summary.asOfSeq;
    const title = entry ? topicTitle(entry) : topic;
    heading.textContent = title;
    document.title = `claimtrail: ${title}`;
    const colourOf = coloursByFirstSeq(histories);

    const retractedBox = h('input', { type: 'checkbox', id: 'show-retracted', checked: showRetracted });
    retractedBox.addEventListener('change', () => {
      setUrl((q) =>
        /** @type {HTMLInputElement} */ (retractedBox).checked ? q.set('retracted', '1') : q.delete('retracted'),
      );
      void draw();
    });
    replace(
      controls,
      sliderBlock(timeline, (knownAt) => {
        setUrl((q) => (knownAt ? q.set('knownAt', knownAt) : q.delete('knownAt')));
        showLiveStatus();
        void draw().catch(showError);
      }),
      h(
        'div',
        { class: 'control' },
        retractedBox,
        h('label', { for: 'show-retracted' }, 'Show retracted claims (struck out)'),
      ),
    );
    if (!controls.nextSibling || !(/** @type {HTMLElement} */ (controls.nextSibling).classList?.contains('key')))
      controls.after(legendKey());
    status.textContent = `As of seq ${summary.asOfSeq}${params().get('knownAt') ? `, known on ${when(summary.knownAt)}` : ''}.`;

    for (const c of state.charts) c.destroy();
    state.charts = [];
    body.replaceChildren();
    if (summary.metrics.length === 0) body.append(h('p', {}, 'Nothing was known about this topic then.'));
    summary.metrics.forEach((m, i) => {
      const hist = histories[i];
      const { section, chartBox } = metricSection(m, hist, colourOf, showRetracted, summary.alignToleranceDays);
      body.append(section);
      state.charts.push(
        createChart(chartBox, {
          metric: m.metric,
          label: metricTitle(m),
          unit: hist.unit,
          series: hist.series,
          colourOf,
          showRetracted,
          claimHref,
        }),
      );
    });
    showLiveStatus();
  }
  state.refresh = draw;
  await draw();
}
