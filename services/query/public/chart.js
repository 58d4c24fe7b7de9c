// One chart per metric: a step line per source over statedAt, with markers that say how each
// figure was qualified, and the envelope across sources as a band. Drawn with uPlot; the markers
// and the band are drawn on its canvas in hooks.
import uPlot from './uPlot.esm.js';
import { h, linkOrText, replace } from './dom.js';
import { dateSeconds, fmt, sourceName, spanText, valueText, viaText } from './format.js';

/** Okabe–Ito: distinguishable with every common colour-vision deficiency. Yellow is last (low contrast on white). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
/** A dash pattern per source as well, so lines differ in more than colour. */
export const DASHES = [[], [6, 3], [2, 2], [8, 3, 2, 3], [], [6, 3], [2, 2], [8, 3, 2, 3]];

/** The y of a point on its source's line: best, else the middle of a bounded range, else the one bound. */
export function centre(p) {
  if (p.best !== null) return p.best;
  if (p.low !== null && p.high !== null) return (p.low + p.high) / 2;
  return p.low ?? p.high ?? 0;
}

/**
 * The envelope band as steps: at each statedAt, the hull of every source's latest non-retracted
 * figure stated by then. An open bound is drawn up to the point's own value.
 */
export function envelopeSteps(series) {
  const pts = series.flatMap((s) =>
    s.points
      .filter((p) => p.status !== 'retracted')
      .map((p) => ({ ...p, sid: s.source.id, x: dateSeconds(p.statedAt) })),
  );
  const xs = [...new Set(pts.map((p) => p.x))].sort((a, b) => a - b);
  return xs.map((x) => {
    const latest = new Map();
    for (const p of pts) {
      if (p.x > x) continue;
      const cur = latest.get(p.sid);
      if (!cur || p.x > cur.x || (p.x === cur.x && p.seq > cur.seq)) latest.set(p.sid, p);
    }
    let low = Infinity;
    let high = -Infinity;
    for (const p of latest.values()) {
      low = Math.min(low, p.low ?? 0);
      high = Math.max(high, p.high ?? p.low ?? 0);
    }
    return { x, low, high, sources: latest.size };
  });
}

/** The x extent: the stated dates, padded; a single date gets a month and a half either side. */
function xRange(xs) {
  const DAY = 86400;
  if (xs.length === 0) return [Date.now() / 1000 - 60 * DAY, Date.now() / 1000];
  const lo = xs[0];
  const hi = xs[xs.length - 1];
  const pad = lo === hi ? 45 * DAY : Math.max((hi - lo) * 0.08, 10 * DAY);
  return [lo - pad, hi + pad];
}

/**
 * @param {HTMLElement} container
 * @param {{ metric: string, label: string, unit: string | null, series: any[], colourOf: (id: string) => number,
 *           showRetracted: boolean, claimHref: (claimId: string) => string }} o
 */
export function createChart(container, o) {
  const series = o.series.map((s) => ({
    ...s,
    colour: PALETTE[o.colourOf(s.source.id) % PALETTE.length],
    dash: DASHES[o.colourOf(s.source.id) % DASHES.length],
    points: s.points
      .filter((p) => o.showRetracted || p.status !== 'retracted')
      .map((p) => ({ ...p, x: dateSeconds(p.statedAt) })),
  }));
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const lines = series.map((s) => {
    const ys = xs.map(() => null);
    for (const p of s.points) {
      if (p.status === 'retracted') continue;
      const i = xs.indexOf(p.x);
      const prev = s.points.find((q) => q !== p && q.x === p.x && q.status !== 'retracted' && q.seq > p.seq);
      if (!prev) ys[i] = centre(p);
    }
    return ys;
  });
  const band = envelopeSteps(o.series);
  const yMax = Math.max(1, ...series.flatMap((s) => s.points.flatMap((p) => [p.low ?? 0, p.high ?? 0, p.best ?? 0])));
  /** Marker positions in CSS pixels of the plot area, for hovering. */
  let hits = [];

  const tooltip = h('div', { class: 'tip', role: 'tooltip', hidden: true });
  let pinned = false;

  const dpr = () => uPlot.pxRatio;

  function drawBand(u) {
    if (band.length === 0) return;
    const ctx = u.ctx;
    ctx.save();
    ctx.fillStyle = 'rgba(0, 0, 0, 0.07)';
    ctx.strokeStyle = 'rgba(0, 0, 0, 0.25)';
    ctx.setLineDash([3 * dpr(), 3 * dpr()]);
    const right = u.bbox.left + u.bbox.width;
    band.forEach((b, i) => {
      const x0 = u.valToPos(b.x, 'x', true);
      const next = band[i + 1];
      const x1 = next ? u.valToPos(next.x, 'x', true) : right;
      const yLow = u.valToPos(b.low, 'y', true);
      const yHigh = u.valToPos(b.high, 'y', true);
      ctx.fillRect(x0, yHigh, x1 - x0, Math.max(yLow - yHigh, 1));
      ctx.strokeRect(x0, yHigh, x1 - x0, Math.max(yLow - yHigh, 1));
    });
    ctx.restore();
  }

  function drawMarkers(u) {
    const ctx = u.ctx;
    const r = 4.5 * dpr();
    hits = [];
    ctx.save();
    ctx.setLineDash([]);
    for (const s of series) {
      for (const p of s.points) {
        const cx = u.valToPos(p.x, 'x', true);
        const y = centre(p);
        const cy = u.valToPos(y, 'y', true);
        const faded = p.status === 'superseded' || p.status === 'retracted';
        ctx.globalAlpha = faded ? 0.55 : 1;
        ctx.strokeStyle = s.colour;
        ctx.fillStyle = s.colour;
        ctx.lineWidth = 2 * dpr();
        const v = p.value;
        if (v.kind === 'range' || (p.low !== null && p.high !== null && p.low !== p.high)) {
          // A vertical bar from low to high, with caps.
          const yl = u.valToPos(p.low, 'y', true);
          const yh = u.valToPos(p.high, 'y', true);
          ctx.beginPath();
          ctx.moveTo(cx, yl);
          ctx.lineTo(cx, yh);
          ctx.moveTo(cx - r, yl);
          ctx.lineTo(cx + r, yl);
          ctx.moveTo(cx - r, yh);
          ctx.lineTo(cx + r, yh);
          ctx.stroke();
        }
        const hollow = v.kind === 'approx' || v.kind === 'at_least' || v.kind === 'at_most' || v.kind === 'range';
        ctx.beginPath();
        ctx.arc(cx, cy, r, 0, 2 * Math.PI);
        if (hollow) {
          ctx.fillStyle = '#fff';
          ctx.fill();
          ctx.stroke();
        } else ctx.fill();
        if (v.kind === 'at_least' || v.kind === 'at_most') {
          // A caret pointing where the true figure may lie.
          const dir = v.kind === 'at_least' ? -1 : 1;
          const tip = cy + dir * (r + 9 * dpr());
          const base = cy + dir * (r + 3 * dpr());
          ctx.beginPath();
          ctx.moveTo(cx - r, base);
          ctx.lineTo(cx, tip);
          ctx.lineTo(cx + r, base);
          ctx.stroke();
        }
        if (p.status === 'retracted') {
          // Struck out.
          ctx.beginPath();
          ctx.moveTo(cx - r * 1.8, cy - r * 1.8);
          ctx.lineTo(cx + r * 1.8, cy + r * 1.8);
          ctx.moveTo(cx - r * 1.8, cy + r * 1.8);
          ctx.lineTo(cx + r * 1.8, cy - r * 1.8);
          ctx.stroke();
        }
        hits.push({ x: cx / dpr() - u.bbox.left / dpr(), y: cy / dpr() - u.bbox.top / dpr(), p, s });
      }
    }
    ctx.restore();
  }

  const width = () => Math.max(280, container.clientWidth || 600);
  const opts = {
    width: width(),
    height: 260,
    scales: {
      x: { time: true, auto: false, range: xRange(xs) },
      y: { auto: false, range: [0, yMax * 1.12] },
    },
    series: [
      { label: 'stated' },
      ...series.map((s) => ({
        label: sourceName(s.source),
        stroke: s.colour,
        dash: s.dash,
        width: 2,
        spanGaps: true,
        paths: uPlot.paths.stepped({ align: 1 }),
        points: { show: false },
        value: (_u, v) => (v === null ? '—' : fmt(v)),
      })),
    ],
    axes: [{}, { size: 64, values: (_u, splits) => splits.map((v) => fmt(v)) }],
    cursor: { points: { show: false }, drag: { x: false, y: false } },
    legend: { show: true, live: false },
    hooks: { drawClear: [drawBand], draw: [drawMarkers] },
  };
  const data = [xs, ...lines];
  const wrap = h('div', { class: 'chart-wrap' });
  container.append(wrap);
  const u = new uPlot(opts, data, wrap);
  wrap.append(tooltip);

  function nearest(mx, my) {
    let best = null;
    let bestD = 14 * 14;
    for (const hit of hits) {
      const d = (hit.x - mx) ** 2 + (hit.y - my) ** 2;
      if (d <= bestD) {
        bestD = d;
        best = hit;
      }
    }
    return best;
  }

  function show(hit) {
    const p = hit.p;
    const chain = viaText(p.via) || null;
    replace(
      tooltip,
      h('strong', { class: 'tip-value' }, valueText(p.value), o.unit ? ` ${o.unit}` : ''),
      h('span', { class: `status status-${p.status}` }, p.status),
      h('div', {}, h('span', { class: 'swatch', style: `background:${hit.s.colour}` }), sourceName(hit.s.source)),
      chain ? h('div', { class: 'via' }, 'via ', chain, ' → report') : null,
      h('div', { class: 'dates' }, `stated ${p.statedAt} · describes ${spanText(p.validFrom, p.validTo)}`),
      p.quote ? h('blockquote', { class: 'quote' }, p.quote) : null,
      ...p.reports.map((r) =>
        h('div', { class: 'report' }, linkOrText(r.url, r.title ?? r.publisher), ` — ${r.publisher}, ${r.publishedAt}`),
      ),
      h('a', { href: o.claimHref(p.claimId), class: 'claim-link' }, 'Claim story'),
    );
    tooltip.hidden = false;
    const or = u.over.getBoundingClientRect();
    const wr = wrap.getBoundingClientRect();
    const left = Math.min(or.left - wr.left + hit.x + 12, wrap.clientWidth - tooltip.offsetWidth - 4);
    tooltip.style.left = `${Math.max(0, left)}px`;
    tooltip.style.top = `${or.top - wr.top + hit.y + 12}px`;
  }

  u.over.addEventListener('mousemove', (e) => {
    if (pinned) return;
    const hit = nearest(e.offsetX, e.offsetY);
    if (hit) show(hit);
    else tooltip.hidden = true;
  });
  u.over.addEventListener('mouseleave', () => {
    if (!pinned) tooltip.hidden = true;
  });
  u.over.addEventListener('click', (e) => {
    const hit = nearest(e.offsetX, e.offsetY);
    pinned = Boolean(hit);
    if (hit) show(hit);
    else tooltip.hidden = true;
  });
  // Keyboard: the chart is focusable; arrows step through the points, Escape closes the tooltip.
  let cursor = -1;
  const chartArea = u.root.querySelector('.u-wrap') ?? u.over;
  chartArea.setAttribute('tabindex', '0');
  chartArea.setAttribute('aria-label', `${o.label}: press the arrow keys to step through the claims`);
  wrap.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      pinned = false;
      tooltip.hidden = true;
      return;
    }
    if (e.target !== chartArea || (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft')) return;
    e.preventDefault();
    const ordered = [...hits].sort((a, b) => a.x - b.x || a.y - b.y);
    if (ordered.length === 0) return;
    cursor = e.key === 'ArrowRight' ? (cursor + 1) % ordered.length : (cursor - 1 + ordered.length) % ordered.length;
    pinned = true;
    show(ordered[cursor]);
  });

  return {
    resize() {
      u.setSize({ width: width(), height: 260 });
    },
    destroy() {
      u.destroy();
      wrap.remove();
    },
  };
}
