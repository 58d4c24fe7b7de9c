// The view at `/topics/{topic}`: the "known on" slider, and per metric a chart, the latest
// figure per source, the composite checks and every claim as a table.
import { authHeaders, findTopic, getHistory, getSummary, getTimeline, queryString, readToken } from './api.js';
import { createChart, PALETTE } from './chart.js';
import { endSeconds, isIncremental } from './chart-model.js';
import { h, linkOrText, replace } from './dom.js';
import {
  changeText,
  dateText,
  fmt,
  gapText,
  hullText,
  instantText,
  metricMetaText,
  metricTitle,
  publishedStepText,
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

/**
 * The time axes of the view: "published by" (the reports' publication dates: the public record
 * as it stood then; the default) and "recorded by claimtrail" (transaction time). Each keeps its
 * position in the URL (`?publishedBy=`, `?knownAt=`), and `?axis=recorded` says which one the
 * slider moves; both apply to every read.
 */
export const axisOf = () => (params().get('axis') === 'recorded' ? 'recorded' : 'published');

/** The slider's steps on an axis, the last one past them all ("now"), and where the URL puts it. */
function axisSteps(timeline, axis) {
  if (axis === 'recorded') {
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
    return {
      id: 'known-on',
      param: 'knownAt',
      label: 'Recorded by claimtrail',
      values: instants.map((it) => it.knownAt),
      text: (i) => instantText(instants[i]),
      index,
    };
  }
  const published = timeline.published ?? [];
  const publishedBy = params().get('publishedBy');
  let index = published.length;
  if (publishedBy) {
    const exact = published.findIndex((p) => p.publishedAt === publishedBy);
    if (exact >= 0) index = exact;
    else {
      const end = endSeconds(publishedBy);
      index = 0;
      published.forEach((p, i) => {
        if (Date.parse(p.to) / 1000 <= end) index = i;
      });
    }
  }
  return {
    id: 'published-by',
    param: 'publishedBy',
    label: 'Published by',
    values: published.map((p) => p.publishedAt),
    text: (i) => publishedStepText(published[i]),
    index,
  };
}

function axisChoice(axis, onChoose) {
  const radio = (value, text) =>
    h(
      'label',
      { class: 'axis-choice' },
      h('input', {
        type: 'radio',
        name: 'axis',
        id: `axis-${value}`,
        value,
        checked: axis === value,
        onchange: () => onChoose(value),
      }),
      ` ${text}`,
    );
  return h(
    'fieldset',
    { class: 'axes' },
    h('legend', {}, 'Time'),
    radio('published', 'published by'),
    radio('recorded', 'recorded by claimtrail'),
  );
}

function sliderBlock(timeline, onPick, onAxis) {
  const axis = axisOf();
  const steps = axisSteps(timeline, axis);
  const last = steps.values.length;
  const output = h('output', { for: steps.id, id: `${steps.id}-value` }, steps.text(steps.index));
  const slider = /** @type {HTMLInputElement} */ (
    h('input', {
      type: 'range',
      id: steps.id,
      name: steps.param,
      min: '0',
      max: String(last),
      step: '1',
      value: String(steps.index),
      'aria-valuetext': steps.text(steps.index),
    })
  );
  let timer;
  const pick = () => {
    const i = Number(slider.value);
    output.textContent = steps.text(i);
    slider.setAttribute('aria-valuetext', steps.text(i));
    clearTimeout(timer);
    timer = setTimeout(() => onPick(steps.param, i >= last ? null : steps.values[i]), 120);
  };
  slider.addEventListener('input', pick);
  const now = h(
    'button',
    { type: 'button', id: `${steps.id}-now`, onclick: () => ((slider.value = String(last)), pick()) },
    'Now',
  );
  return h(
    'div',
    { class: 'control known-on', dataset: { axis } },
    axisChoice(axis, onAxis),
    h('label', { for: steps.id }, steps.label),
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
    isIncremental(m.aggregation) || m.latest.length < 2 ? null : h('p', { class: 'envelope' }, hullText(m.latest)),
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

/**
 * The table's columns: every column of the history's CSV in its order but the topic and metric
 * (the section's), each with what its cell shows, then the attribution chain.
 */
const TABLE_COLUMNS = [
  ['source_id', 'Source id', (s) => s.source.id],
  ['source_name', 'Source', (s) => sourceLink(s.source)],
  ['claim_id', 'Claim', (_s, p) => h('a', { href: claimHref(p.claimId) }, p.claimId)],
  ['stated_at', 'Stated', (_s, p) => p.statedAt],
  ['valid_from', 'Valid from', (_s, p) => p.validFrom],
  ['valid_to', 'Valid to', (_s, p) => p.validTo],
  ['kind', 'Kind', (_s, p) => p.value.kind],
  ['value', 'Figure', (_s, p) => h('a', { href: claimHref(p.claimId) }, valueText(p.value))],
  ['low', 'Low', (_s, p) => (p.low === null ? '' : fmt(p.low))],
  ['best', 'Best', (_s, p) => (p.best === null ? '' : fmt(p.best))],
  ['high', 'High', (_s, p) => (p.high === null ? '' : fmt(p.high))],
  ['unit', 'Unit', (_s, _p, unit) => unit ?? ''],
  ['status', 'Status', (_s, p) => p.status],
  ['corrected', 'Corrected', (_s, p) => (p.corrected ? 'corrected' : '')],
  [
    'superseded_by',
    'Superseded by',
    (_s, p) => (p.supersededBy ? h('a', { href: claimHref(p.supersededBy) }, p.supersededBy) : ''),
  ],
  ['confidence', 'Confidence', (_s, p) => p.confidence ?? ''],
  ['likelihood', 'Likelihood', (_s, p) => p.likelihood ?? ''],
  ['note', 'Note', (_s, p) => p.note ?? ''],
  ['recorded_at', 'Recorded', (_s, p) => p.recordedAt],
  ['seq', 'Seq', (_s, p) => String(p.seq)],
  [
    'report_urls',
    'Reports',
    (_s, p) =>
      p.reports.map((r, i) => [
        i > 0 ? ' ' : null,
        h('span', { class: 'report', dataset: { url: r.url } }, linkOrText(r.url, r.publisher), ` ${r.publishedAt}`),
      ]),
  ],
  ['quote', 'Quote', (_s, p) => p.quote ?? ''],
  ['via', 'Via', (_s, p) => viaLinks(p.via)],
];

/**
 * The history's CSV with the page's filters: its instant, retracted claims when they are shown,
 * and one source's claims only when `source` is given.
 */
const csvHref = (topic, metric, showRetracted, source) =>
  `/v1/topics/${encodeURIComponent(topic)}/metrics/${encodeURIComponent(metric)}/history.csv${queryString(
    readParams({ ...(showRetracted ? { includeRetracted: 'true' } : {}), ...(source ? { source } : {}) }),
  )}`;

/**
 * A link to the CSV. With a read token, a plain link would go without it: the click then fetches
 * the file with the token and hands it to the browser as a download.
 */
function csvLink(topic, metric, showRetracted, source) {
  const href = csvHref(topic, metric, showRetracted, source);
  const filename = `${topic}.${metric}${source ? `.${source}` : ''}.history.csv`;
  return h(
    'a',
    {
      class: 'download-csv',
      href,
      download: filename,
      onclick: (e) => {
        if (!readToken()) return;
        e.preventDefault();
        void fetch(href, { headers: authHeaders('text/csv') })
          .then(async (res) => {
            if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
            const url = URL.createObjectURL(await res.blob());
            const a = h('a', { download: filename });
            a.setAttribute('href', url);
            a.click();
            setTimeout(() => URL.revokeObjectURL(url), 1000);
          })
          .catch(showError);
      },
    },
    'Download CSV',
  );
}

/**
 * The CSV link and the claims table. The rows come from `fill`, which the view calls once the
 * charts are drawn: a topic's thousands of rows would otherwise hold back its charts. `o.source`:
 * the table and the CSV of one source's claims (its page, where the table is open).
 */
export function dataTable(topic, metric, unit, series, showRetracted, o = {}) {
  const tbody = h('tbody', {});
  const block = h(
    'div',
    { class: 'data-block' },
    h('p', { class: 'download' }, csvLink(topic, metric, showRetracted, o.source)),
    h(
      'details',
      { class: 'data', open: o.source ? true : null },
      h('summary', {}, o.source ? `Its ${metric} claims as a table` : `Every ${metric} claim as a table`),
      h(
        'table',
        { class: 'points' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            TABLE_COLUMNS.map(([column, title]) => h('th', { scope: 'col', dataset: { column } }, title)),
          ),
        ),
        tbody,
      ),
    ),
  );
  const fill = () =>
    tbody.replaceChildren(
      ...series.flatMap((s) =>
        s.points.map((p) =>
          h(
            'tr',
            { dataset: { source: s.source.id, status: p.status, claim: p.claimId }, class: `row-${p.status}` },
            TABLE_COLUMNS.map(([column, , cell]) =>
              h('td', { class: column === 'quote' ? 'quote' : null, dataset: { column } }, cell(s, p, unit)),
            ),
          ),
        ),
      ),
    );
  return { block, fill };
}

function legendKey() {
  return h(
    'p',
    { class: 'key' },
    "Levels sit at the end of the period they describe; figures counted per period are bars across it. ● exact · ○ approximate or a range's best · | range (low to high; no marker without a stated best) · ‾^ at least · _v at most · ✕ retracted · faded: superseded · lines join only centres a source stated · grey band: envelope across sources of comparable figures",
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
    'aria-label': isIncremental(m.aggregation)
      ? `${metricTitle(m)}: a bar per figure across the period it counts; details in the table below`
      : `${metricTitle(m)}: step lines per source, each figure at the end of the period it describes; details in the table below`,
  });
  const series = hist.series.map((s) => ({
    ...s,
    points: s.points.filter((p) => showRetracted || p.status !== 'retracted'),
  }));
  const points = series.reduce((n, s) => n + s.points.length, 0);
  const table = dataTable(hist.topic, m.metric, hist.unit, series, showRetracted);
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
    table.block,
  );
  return { section, chartBox, fillTable: table.fill };
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
      sliderBlock(
        timeline,
        (param, value) => {
          setUrl((q) => (value ? q.set(param, value) : q.delete(param)));
          showLiveStatus();
          void draw().catch(showError);
        },
        (axis) => {
          setUrl((q) => (axis === 'recorded' ? q.set('axis', axis) : q.delete('axis')));
          void draw().catch(showError);
        },
      ),
      h(
        'div',
        { class: 'control' },
        retractedBox,
        h('label', { for: 'show-retracted' }, 'Show retracted claims (struck out)'),
      ),
    );
    if (!controls.nextSibling || !(/** @type {HTMLElement} */ (controls.nextSibling).classList?.contains('key')))
      controls.after(legendKey());
    status.textContent = `As of seq ${summary.asOfSeq}${summary.publishedBy ? `, published by ${dateText(summary.publishedBy)}` : ''}${params().get('knownAt') ? `, known on ${when(summary.knownAt)}` : ''}.`;

    for (const c of state.charts) c.destroy();
    state.charts = [];
    body.replaceChildren();
    if (summary.metrics.length === 0) body.append(h('p', {}, 'Nothing was known about this topic then.'));
    const tables = [];
    summary.metrics.forEach((m, i) => {
      const hist = histories[i];
      const { section, chartBox, fillTable } = metricSection(
        m,
        hist,
        colourOf,
        showRetracted,
        summary.alignToleranceDays,
      );
      tables.push(fillTable);
      body.append(section);
      state.charts.push(
        createChart(chartBox, {
          topic,
          metric: m.metric,
          label: metricTitle(m),
          unit: hist.unit,
          aggregation: m.aggregation,
          series: hist.series,
          colourOf,
          showRetracted,
          claimHref,
        }),
      );
    });
    // The charts first; the tables once the browser has had a turn to show them.
    await new Promise((resolve) => setTimeout(resolve, 0));
    for (const fill of tables) fill();
    showLiveStatus();
  }
  state.refresh = draw;
  await draw();
}
