// The claimtrail page: topics, a topic's charts with the "known on" slider, and a claim's story.
// No build step: plain ES modules served by the query service. The URL holds the whole state
// (path, ?knownAt=, ?retracted=1), so a view can be shared.
import { createChart, fmt, PALETTE, valueText } from '/assets/chart.js';
import { h, linkOrText, replace } from '/assets/dom.js';

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const live = /** @type {HTMLElement} */ (document.getElementById('live'));

const state = {
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

function params() {
  return new URLSearchParams(location.search);
}

/** Query string for the API from the page's state. */
function readQuery(extra = {}) {
  const q = new URLSearchParams();
  const knownAt = params().get('knownAt');
  if (knownAt) q.set('knownAt', knownAt);
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== null) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

// A server started with CLAIMTRAIL_REQUIRE_READ_TOKEN=1 answers 401 without a token with the
// `read` scope. The page then asks for one and keeps it for this tab only (sessionStorage).
const TOKEN_KEY = 'claimtrail.readToken';
const readToken = () => sessionStorage.getItem(TOKEN_KEY);

/** Thrown on a 401: the page asks for a token instead of showing an error. */
class NeedsToken extends Error {}

function authHeaders(accept) {
  const token = readToken();
  return token ? { accept, authorization: `Bearer ${token}` } : { accept };
}

async function api(path) {
  const res = await fetch(path, { headers: authHeaders('application/json') });
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) throw new NeedsToken(body.detail ?? 'a read token is required');
  if (!res.ok) throw new Error(body.detail ?? body.title ?? `${res.status} ${res.statusText}`);
  return body;
}

/** The form that asks for a read token; a wrong one brings it back with the server's reason. */
function askForToken(reason) {
  const input = h('input', {
    id: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'token-why',
  });
  const form = h(
    'form',
    { class: 'token' },
    h('h1', {}, 'A read token is needed'),
    h(
      'p',
      { id: 'token-why' },
      readToken()
        ? `The token was refused: ${reason}.`
        : 'This claimtrail serves its data to holders of a token with the read scope.',
    ),
    h('label', { for: 'token' }, 'Token'),
    input,
    h('button', { type: 'submit' }, 'Show the data'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, /** @type {HTMLInputElement} */ (input).value.trim());
    void route();
    connectLive();
  });
  replace(main, form);
  /** @type {HTMLInputElement} */ (input).focus();
}

function setUrl(mutate) {
  const q = params();
  mutate(q);
  const s = q.toString();
  history.replaceState(null, '', `${location.pathname}${s ? `?${s}` : ''}`);
}

const dateTime = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'UTC' });
const when = (iso) => `${dateTime.format(new Date(iso))} UTC`;

function showError(err) {
  if (err instanceof NeedsToken) return askForToken(err.message);
  replace(
    main,
    h('p', { class: 'error', role: 'alert' }, `Could not load: ${err instanceof Error ? err.message : String(err)}`),
  );
}

function updateLive() {
  const knownAt = params().get('knownAt');
  live.textContent = state.liveRefused
    ? 'Live updates need a read token'
    : knownAt
      ? `Viewing what was known on ${when(knownAt)}${state.liveSeq > state.shownSeq ? ' · newer data exists' : ''}`
      : state.liveSeq > 0
        ? `Live · seq ${state.liveSeq}`
        : 'Connecting…';
}

// ---------- topics ----------

async function topicsView() {
  document.title = 'claimtrail: topics';
  const t = await api(`/v1/topics${readQuery()}`);
  state.shownSeq = t.asOfSeq;
  replace(
    main,
    h('h1', {}, 'Topics'),
    t.topics.length === 0 ? h('p', {}, 'Nothing recorded yet.') : null,
    h(
      'ul',
      { class: 'topics' },
      t.topics.map((topic) =>
        h(
          'li',
          {},
          h(
            'a',
            { href: `/topics/${encodeURIComponent(topic.topic)}${readQuery()}`, class: 'topic-link' },
            topic.topic,
          ),
          h(
            'ul',
            { class: 'metric-list' },
            topic.metrics.map((m) =>
              h(
                'li',
                {},
                `${m.metric}: ${m.claims} claim${m.claims === 1 ? '' : 's'} from ${m.sources} source${m.sources === 1 ? '' : 's'}, stated ${m.firstStatedAt}${m.lastStatedAt !== m.firstStatedAt ? ` to ${m.lastStatedAt}` : ''}`,
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

// ---------- a topic ----------

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
  const labelOf = (i) =>
    i >= instants.length
      ? 'now (live)'
      : `${when(instants[i].knownAt)} (seq ${instants[i].seq}: ${instants[i].types.join(', ')})`;
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
    { class: 'latest', 'aria-label': `Latest ${m.label ?? m.metric} per source` },
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
          h('span', { class: 'who' }, l.source.name ?? l.source.id),
          ' ',
          h(
            'a',
            { class: 'figure', href: `/claims/${encodeURIComponent(l.claimId)}${readQuery()}` },
            valueText(l.value),
          ),
          h('span', { class: 'stated' }, ` (${l.statedAt})`),
          l.previous
            ? h(
                'span',
                { class: 'change' },
                l.change === null || l.change === undefined
                  ? ` · was ${valueText(l.previous.value)} (${l.previous.statedAt})`
                  : ` · ${l.change > 0 ? '▲ +' : l.change < 0 ? '▼ −' : '± '}${fmt(Math.abs(l.change))} from ${valueText(l.previous.value)} (${l.previous.statedAt})`,
              )
            : null,
        ),
      ),
    ),
    m.envelope
      ? h(
          'p',
          { class: 'envelope' },
          `Envelope across ${m.envelope.sources} source${m.envelope.sources === 1 ? '' : 's'}: ${fmt(m.envelope.minLow)} – ${m.envelope.maxHigh === null ? 'open' : fmt(m.envelope.maxHigh)}`,
        )
      : null,
  );
}

function checksBlock(m) {
  if (!m.composedOf || m.composedOf.length === 0) return null;
  const iv = (i) => `[${fmt(i.low)}, ${i.high === null ? '∞' : fmt(i.high)}]`;
  return h(
    'section',
    { class: 'checks', 'aria-label': `Checks of ${m.label ?? m.metric}` },
    h('h3', {}, `Checks: ${m.composedOf.join(' + ')}`),
    m.checks.length === 0 && m.skipped.length === 0 ? h('p', {}, 'No source gives every part yet.') : null,
    h(
      'ul',
      {},
      m.checks.map((c) =>
        h(
          'li',
          {
            class: `check check-${c.status}`,
            dataset: { status: c.status, componentSource: c.componentSource.id, compositeSource: c.compositeSource.id },
          },
          h('span', { class: `badge badge-${c.status}` }, c.status),
          ' ',
          `${c.componentSource.name ?? c.componentSource.id}: ${c.components.join(' + ')} = ${iv(c.sum)} vs ${c.compositeSource.name ?? c.compositeSource.id}: ${iv(c.against)}`,
          c.status === 'gap' ? h('strong', { class: 'gap' }, ` · gap ${fmt(c.gap)} (sum ${c.direction})`) : null,
          c.status === 'misaligned'
            ? h('span', {}, ` · valid times ${c.validSpreadDays} days apart (tolerance ${c.toleranceDays})`)
            : null,
        ),
      ),
      m.skipped.map((s) =>
        h('li', { class: 'check check-skipped' }, h('span', { class: 'badge' }, 'skipped'), ' ', s.reason),
      ),
    ),
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
              h('td', {}, s.source.name ?? s.source.id),
              h('td', {}, p.statedAt),
              h(
                'td',
                {},
                h('a', { href: `/claims/${encodeURIComponent(p.claimId)}${readQuery()}` }, valueText(p.value)),
              ),
              h('td', {}, p.status),
              h('td', { class: 'quote' }, p.quote ?? ''),
              h('td', {}, (p.via ?? []).map((v) => `${v.id} (${v.role})`).join(' → ')),
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

async function topicView(topic) {
  document.title = `claimtrail: ${topic}`;
  const controls = h('div', { class: 'controls' });
  const body = h('div', { class: 'metrics' });
  const status = h('p', { class: 'as-of', role: 'status' });
  replace(
    main,
    h('p', {}, h('a', { href: `/${readQuery()}` }, '← Topics')),
    h('h1', {}, topic),
    controls,
    status,
    body,
  );

  async function draw(minSeq) {
    const showRetracted = params().get('retracted') === '1';
    const [timeline, summary] = await Promise.all([
      api(`/v1/topics/${encodeURIComponent(topic)}/timeline${minSeq ? `?minSeq=${minSeq}` : ''}`),
      api(`/v1/topics/${encodeURIComponent(topic)}/summary${readQuery({ minSeq })}`),
    ]);
    const histories = await Promise.all(
      summary.metrics.map((m) =>
        api(
          `/v1/topics/${encodeURIComponent(topic)}/metrics/${encodeURIComponent(m.metric)}/history${readQuery({ includeRetracted: 'true', minSeq })}`,
        ),
      ),
    );
    state.shownSeq = summary.asOfSeq;
    // Colours by first appearance, so a source keeps its colour when another one shows up.
    const firstSeq = new Map();
    for (const s of histories.flatMap((hs) => hs.series)) {
      const seq = Math.min(...s.points.map((p) => p.seq));
      firstSeq.set(s.source.id, Math.min(firstSeq.get(s.source.id) ?? Infinity, seq));
    }
    const sourceIds = [...firstSeq.keys()].sort((a, b) => firstSeq.get(a) - firstSeq.get(b) || a.localeCompare(b));
    const colourOf = (id) => Math.max(0, sourceIds.indexOf(id));

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
        updateLive();
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
      const chartBox = h('div', {
        class: 'chart',
        role: 'img',
        'aria-label': `${m.label ?? m.metric}: step lines per source over the date stated; details in the table below`,
      });
      const points = hist.series.reduce(
        (n, s) => n + s.points.filter((p) => showRetracted || p.status !== 'retracted').length,
        0,
      );
      const section = h(
        'section',
        { class: 'metric', id: `metric-${m.metric}`, dataset: { metric: m.metric, points: String(points) } },
        h(
          'h2',
          {},
          m.label ?? m.metric,
          h(
            'span',
            { class: 'meta' },
            ` ${m.metric}${m.unit ? ` · ${m.unit}` : ''}${m.aggregation ? ` · ${m.aggregation}` : ''}`,
          ),
        ),
        h(
          'div',
          { class: 'metric-body' },
          h('div', { class: 'chart-col' }, chartBox),
          h('aside', {}, latestBlock(m, colourOf), checksBlock(m)),
        ),
        dataTable(
          m.metric,
          hist.series.map((s) => ({ ...s, points: s.points.filter((p) => showRetracted || p.status !== 'retracted') })),
        ),
      );
      body.append(section);
      state.charts.push(
        createChart(chartBox, {
          metric: m.metric,
          label: m.label ?? m.metric,
          unit: hist.unit,
          series: hist.series,
          colourOf,
          showRetracted,
          claimHref: (id) => `/claims/${encodeURIComponent(id)}${readQuery()}`,
        }),
      );
    });
    updateLive();
  }
  state.refresh = draw;
  await draw();
}

function legendKey() {
  return h(
    'p',
    { class: 'key' },
    '● exact · ○ approximate · ○ with ^ at least · ○ with v at most · | range · ✕ retracted · faded: superseded · grey band: envelope across sources',
  );
}

// ---------- a claim ----------

const REVISION_WORDS = {
  ClaimRecorded: 'Recorded',
  ClaimCited: 'Cited again',
  ClaimCorrected: 'Corrected',
  ClaimRetracted: 'Retracted',
};

async function claimView(claimId) {
  const c = await api(`/v1/claims/${encodeURIComponent(claimId)}${readQuery()}`);
  state.shownSeq = c.asOfSeq;
  const k = c.claim;
  document.title = `claimtrail: ${k.metric} by ${k.source.name ?? k.source.id}`;
  replace(
    main,
    h('p', {}, h('a', { href: `/topics/${encodeURIComponent(k.topic)}${readQuery()}` }, `← ${k.topic}`)),
    h('h1', {}, `${k.source.name ?? k.source.id}: ${valueText(k.value)} ${k.metric}`),
    h(
      'dl',
      { class: 'claim' },
      [
        ['Status', k.status],
        [
          'Figure',
          `${valueText(k.value)} ${k.unit} (low ${fmt(k.low)}, best ${fmt(k.best)}, high ${fmt(k.high)}; rule ${k.rule})`,
        ],
        ['Stated', k.statedAt],
        ['Describes', k.validFrom === k.validTo ? k.validFrom : `${k.validFrom} to ${k.validTo}`],
        ['Source', `${k.source.name ?? k.source.id}${k.source.kind ? ` (${k.source.kind})` : ''}`],
        ['Via', k.via.length > 0 ? k.via.map((v) => `${v.id} (${v.role})`).join(' → ') : 'direct'],
        ['Recorded', `${when(k.recordedAt)} (seq ${k.seq})`],
      ].flatMap(([dt, dd]) => [h('dt', {}, dt), h('dd', {}, dd)]),
    ),
    k.quote ? h('blockquote', { class: 'quote' }, k.quote) : null,
    h('h2', {}, 'Story'),
    h(
      'ol',
      { class: 'story' },
      c.revisions.map((r) =>
        h(
          'li',
          { dataset: { type: r.type } },
          h('strong', {}, REVISION_WORDS[r.type] ?? r.type),
          ` ${when(r.recordedAt)} by ${r.actor} (seq ${r.seq})`,
          r.changes
            ? h(
                'div',
                { class: 'changes' },
                Object.entries(r.changes)
                  .map(
                    ([f, v]) =>
                      `${f} → ${f === 'value' && v && typeof v === 'object' ? valueText(v) : JSON.stringify(v)}`,
                  )
                  .join('; '),
              )
            : null,
          r.reason ? h('div', { class: 'reason' }, `Reason: ${r.reason}${r.by ? ` (by ${r.by})` : ''}`) : null,
        ),
      ),
    ),
    h('h2', {}, 'Reports citing it'),
    h(
      'ul',
      {},
      c.reports.map((r) =>
        h(
          'li',
          {},
          linkOrText(r.url, r.title ?? r.url),
          ` — ${r.publisher}, published ${r.publishedAt}${r.echo ? ' (an echo)' : ''}`,
          r.quote ? h('blockquote', { class: 'quote' }, r.quote) : null,
        ),
      ),
    ),
  );
  state.refresh = async () => {
    await claimView(claimId);
  };
}

// ---------- routing and live updates ----------

async function route() {
  state.refresh = null;
  for (const c of state.charts) c.destroy();
  state.charts = [];
  const path = location.pathname;
  try {
    let m;
    if ((m = /^\/topics\/([^/]+)\/?$/.exec(path))) await topicView(decodeURIComponent(m[1]));
    else if ((m = /^\/claims\/([^/]+)\/?$/.exec(path))) await claimView(decodeURIComponent(m[1]));
    else {
      state.refresh = topicsView;
      await topicsView();
    }
  } catch (err) {
    showError(err);
  }
  updateLive();
  document.body.dataset.ready = 'true';
}

/**
 * The live feed (`/v1/live`, server-sent events), read with fetch so that it can send the token
 * (EventSource cannot send headers). Reconnects 2 s after the stream ends or fails; a 401 stops
 * it until a token is entered.
 */
let liveGeneration = 0;
function connectLive() {
  const generation = ++liveGeneration;
  const onSeq = (asOfSeq) => {
    const grew = asOfSeq > state.liveSeq && state.liveSeq > 0;
    state.liveSeq = asOfSeq;
    // A view pinned to a past instant stays as it was; "now" follows the projection.
    if (state.refresh && asOfSeq > state.shownSeq && (!params().get('knownAt') || grew)) {
      const pinned = Boolean(params().get('knownAt'));
      if (!pinned) void state.refresh(asOfSeq).catch(showError);
    }
    updateLive();
  };
  const run = async () => {
    const res = await fetch('/v1/live', { headers: authHeaders('text/event-stream') });
    state.liveRefused = res.status === 401;
    if (state.liveRefused) {
      updateLive();
      return false;
    }
    if (!res.ok || !res.body) throw new Error(`${res.status}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    while (generation === liveGeneration) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const lines = buffer.slice(0, end).split('\n');
        buffer = buffer.slice(end + 2);
        const event = lines
          .find((l) => l.startsWith('event:'))
          ?.slice(6)
          .trim();
        const data = lines
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trim())
          .join('\n');
        if (event === 'seq' && data) onSeq(JSON.parse(data).asOfSeq);
      }
    }
    await reader.cancel().catch(() => undefined);
    return true;
  };
  const loop = async () => {
    while (generation === liveGeneration) {
      let again = true;
      try {
        again = await run();
      } catch {
        // reconnect below
      }
      if (!again || generation !== liveGeneration) return;
      live.textContent = 'Live updates paused; reconnecting…';
      await new Promise((r) => setTimeout(r, 2000));
    }
  };
  void loop();
}

let resizeTimer;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => state.charts.forEach((c) => c.resize()), 100);
});

connectLive();
void route();
