// One chart per metric, drawn with uPlot. Levels (cumulative, stock) sit at the end of the period
// they describe, joined per source by a step line through the centres the source stated;
// incremental figures are bars across their period and share no line. Markers say how each
// figure was qualified, and the band is the envelope across comparable figures; both are drawn on
// uPlot's canvas in hooks. Where things go is worked out in chart-model.js.
import uPlot from './uPlot.esm.js';
import { h, linkOrText, replace } from './dom.js';
import { axisDate, axisNumbers, axisSize, chartModel, spreadCoincident } from './chart-model.js';
import { fmt, sourceName, spanText, valueText, viaText } from './format.js';

/** Okabe–Ito: distinguishable with every common colour-vision deficiency. Yellow is last (low contrast on white). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
/** A dash pattern per source as well, so lines differ in more than colour. */
export const DASHES = [[], [6, 3], [2, 2], [8, 3, 2, 3], [], [6, 3], [2, 2], [8, 3, 2, 3]];

const AXIS_FONT = '12px system-ui, sans-serif';
const HEIGHT = 260;

/** The figure's bar, if it has two bounds apart: its vertical extent low..high. */
const hasBar = (p) => p.low !== null && p.high !== null && p.low !== p.high;

/**
 * @param {HTMLElement} container
 * @param {{ topic?: string, metric: string, label: string, unit: string | null, aggregation: string | null, series: any[],
 *           colourOf: (id: string) => number, showRetracted: boolean, claimHref: (claimId: string) => string }} o
 */
export function createChart(container, o) {
  const model = chartModel(o.series, { aggregation: o.aggregation, showRetracted: o.showRetracted });
  const series = model.series.map((s) => ({
    ...s,
    colour: PALETTE[o.colourOf(s.source.id) % PALETTE.length],
    dash: DASHES[o.colourOf(s.source.id) % DASHES.length],
  }));
  /** Marker positions in CSS pixels of the plot area, for hovering, the keyboard and tests. */
  let hits = [];

  const tooltip = h('div', { class: 'tip', role: 'tooltip', hidden: true });
  let pinned = false;

  const dpr = () => uPlot.pxRatio;

  function drawBand(u) {
    if (model.band.length === 0) return;
    const ctx = u.ctx;
    ctx.save();
    ctx.fillStyle = 'rgba(0, 0, 0, 0.07)';
    ctx.strokeStyle = 'rgba(0, 0, 0, 0.25)';
    ctx.setLineDash([3 * dpr(), 3 * dpr()]);
    const right = u.bbox.left + u.bbox.width;
    for (const b of model.band) {
      const x0 = u.valToPos(b.x0, 'x', true);
      const x1 = b.x1 === null ? right : u.valToPos(b.x1, 'x', true);
      const yLow = u.valToPos(b.low, 'y', true);
      const yHigh = u.valToPos(b.high, 'y', true);
      ctx.fillRect(x0, yHigh, x1 - x0, Math.max(yLow - yHigh, 1));
      ctx.strokeRect(x0, yHigh, x1 - x0, Math.max(yLow - yHigh, 1));
    }
    ctx.restore();
  }

  /** An incremental figure's bar across its period: from 0 to its best, else low..high, else its one bound. */
  function drawPeriodBar(u, ctx, s, p) {
    const x0 = u.valToPos(p.x0, 'x', true);
    const x1 = Math.max(u.valToPos(p.x1, 'x', true), x0 + 2 * dpr());
    const y = (v) => u.valToPos(v, 'y', true);
    ctx.save();
    ctx.strokeStyle = s.colour;
    ctx.fillStyle = s.colour;
    ctx.lineWidth = 1.5 * dpr();
    ctx.setLineDash(p.value.kind === 'approx' ? [4 * dpr(), 2 * dpr()] : []);
    const edge = (v) => {
      ctx.beginPath();
      ctx.moveTo(x0, y(v));
      ctx.lineTo(x1, y(v));
      ctx.stroke();
    };
    if (p.best !== null) {
      ctx.globalAlpha *= 0.18;
      ctx.fillRect(x0, y(p.best), x1 - x0, y(0) - y(p.best));
      ctx.globalAlpha /= 0.18;
      edge(p.best);
    } else if (p.low !== null && p.high !== null) {
      ctx.globalAlpha *= 0.3;
      ctx.fillRect(x0, y(p.high), x1 - x0, Math.max(y(p.low) - y(p.high), 1));
      ctx.globalAlpha /= 0.3;
      edge(p.low);
      edge(p.high);
    } else edge(p.low ?? p.high);
    ctx.restore();
  }

  function drawMarkers(u) {
    const ctx = u.ctx;
    const r = 4.5 * dpr();
    const y = (v) => u.valToPos(v, 'y', true);
    const marks = series.flatMap((s) =>
      s.points.map((p) => {
        const at = p.best ?? (hasBar(p) ? (p.low + p.high) / 2 : (p.low ?? p.high));
        return { s, p, sid: s.source.id, x: u.valToPos(p.x, 'x', true), y: y(at) };
      }),
    );
    const offsets = spreadCoincident(marks, 2.4 * r);
    hits = [];
    ctx.save();
    // Bars first, so that no bar hides another source's marker.
    if (model.incremental)
      for (const m of marks) {
        ctx.globalAlpha = m.p.status === 'superseded' || m.p.status === 'retracted' ? 0.55 : 1;
        drawPeriodBar(u, ctx, m.s, m.p);
      }
    ctx.setLineDash([]);
    marks.forEach((m, i) => {
      const { s, p } = m;
      const cx = m.x + offsets[i];
      const cy = m.y;
      const faded = p.status === 'superseded' || p.status === 'retracted';
      ctx.globalAlpha = faded ? 0.55 : 1;
      ctx.strokeStyle = s.colour;
      ctx.fillStyle = s.colour;
      ctx.lineWidth = 2 * dpr();
      const v = p.value;
      let drawn = 'marker';
      if (hasBar(p)) {
        // The vertical extent low..high, with caps.
        const yl = y(p.low);
        const yh = y(p.high);
        ctx.beginPath();
        ctx.moveTo(cx, yl);
        ctx.lineTo(cx, yh);
        ctx.moveTo(cx - r, yl);
        ctx.lineTo(cx + r, yl);
        ctx.moveTo(cx - r, yh);
        ctx.lineTo(cx + r, yh);
        ctx.stroke();
        drawn = 'bar';
      }
      if (p.best !== null) {
        // A centre a source stated: filled when exact, hollow when approximate or a range's best.
        // A white ring keeps a marker apart from one beside it.
        ctx.beginPath();
        ctx.arc(cx, cy, r, 0, 2 * Math.PI);
        ctx.save();
        ctx.strokeStyle = '#fff';
        ctx.lineWidth = 5 * dpr();
        ctx.stroke();
        ctx.restore();
        if (v.kind === 'exact') ctx.fill();
        else {
          ctx.fillStyle = '#fff';
          ctx.fill();
        }
        ctx.stroke();
        drawn = hasBar(p) ? 'bar+centre' : 'marker';
      } else if (v.kind === 'at_least' || v.kind === 'at_most') {
        // The bound as a tick, and a caret pointing where the true figure may lie.
        const dir = v.kind === 'at_least' ? -1 : 1;
        ctx.beginPath();
        ctx.moveTo(cx - r * 1.4, cy);
        ctx.lineTo(cx + r * 1.4, cy);
        ctx.moveTo(cx - r, cy + dir * 3 * dpr());
        ctx.lineTo(cx, cy + dir * (r + 7 * dpr()));
        ctx.lineTo(cx + r, cy + dir * 3 * dpr());
        ctx.stroke();
        drawn = v.kind;
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
      hits.push({
        x: (cx - u.bbox.left) / dpr(),
        y: (cy - u.bbox.top) / dpr(),
        p,
        s,
        drawn,
        x0: (u.valToPos(p.x0, 'x', true) - u.bbox.left) / dpr(),
        x1: (u.valToPos(p.x1, 'x', true) - u.bbox.left) / dpr(),
      });
    });
    ctx.restore();
  }

  const yLabels = (splits) => axisNumbers(splits);
  // The longest label the y axis may show, at the top of its range, sizes the axis before uPlot
  // picks its ticks, so that no label is cut.
  const yTop = model.yMax * 1.12;
  const ySize = axisSize(axisNumbers([yTop, yTop / 2, 0]).concat(axisNumbers([model.yMax])));
  const width = () => Math.max(280, container.clientWidth || 600);
  const opts = {
    width: width(),
    height: HEIGHT,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    // Room right of the plot for half the last date label ("13 Mar 2024 14:00"), so it is never cut.
    padding: [12, 56, null, null],
    scales: {
      x: { time: true, auto: false, range: model.xRange },
      y: { auto: false, range: [0, yTop] },
    },
    series: [
      { label: model.incremental ? 'period' : 'end of period' },
      ...series.map((s) => ({
        label: sourceName(s.source),
        stroke: s.colour,
        dash: s.dash,
        width: 2,
        spanGaps: false,
        paths: uPlot.paths.stepped({ align: 1 }),
        points: { show: false },
        value: (_u, v) => (v === null || v === undefined ? '—' : fmt(v)),
      })),
    ],
    axes: [
      {
        font: AXIS_FONT,
        space: 96,
        values: (_u, splits, _i, _space, step) => splits.map((v) => axisDate(v, step)),
      },
      {
        font: AXIS_FONT,
        size: (_u, values) => Math.max(ySize, values ? axisSize(values) : 0),
        values: (_u, splits) => yLabels(splits),
      },
    ],
    cursor: { points: { show: false }, drag: { x: false, y: false } },
    legend: { show: series.length > 0, live: false },
    hooks: {
      drawClear: [drawBand],
      draw: [
        drawMarkers,
        (u) => {
          wrap.chartAxes = {
            x: {
              labels: [...(u.axes[0]._values ?? [])],
              // Each label's centre, in CSS pixels from the canvas's left edge.
              at: (u.axes[0]._splits ?? []).map((v) => u.valToPos(v, 'x') + u.bbox.left / dpr()),
              font: AXIS_FONT,
              width: u.width,
            },
            y: { labels: [...(u.axes[1]._values ?? [])], size: u.axes[1]._size, font: AXIS_FONT },
          };
          wrap.chartMarks = hits.map((m) => ({
            claimId: m.p.claimId,
            source: m.s.source.id,
            colour: m.s.colour,
            t: m.p.x,
            t0: m.p.x0,
            t1: m.p.x1,
            x: m.x,
            y: m.y,
            x0: m.x0,
            x1: m.x1,
            drawn: m.drawn,
            plot: { left: u.bbox.left / dpr(), top: u.bbox.top / dpr() },
          }));
          wrap.dataset.drawn = String(Number(wrap.dataset.drawn ?? 0) + 1);
          if (o.topic) performance.mark(`claimtrail:chart:${o.topic}/${o.metric}`);
          o.onDrawn?.();
        },
      ],
    },
  };
  const data = [model.xs, ...model.lines];
  const wrap = /** @type {HTMLElement & { chartAxes?: unknown, chartMarks?: unknown }} */ (
    h('div', { class: 'chart-wrap', dataset: { incremental: String(model.incremental) } })
  );
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
    if (best || !model.incremental) return best;
    // Anywhere on an incremental figure's period, under its top.
    return hits.find((hit) => mx >= hit.x0 && mx <= hit.x1 && my >= hit.y - 14) ?? null;
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
      h('div', { class: 'dates' }, `describes ${spanText(p.validFrom, p.validTo)} · stated ${p.statedAt}`),
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
      u.setSize({ width: width(), height: HEIGHT });
    },
    destroy() {
      u.destroy();
      wrap.remove();
    },
  };
}
