// What a chart draws, worked out from a metric's history with no DOM, so that Node's unit tests
// run it as the browser does (chart-model.unit.test.ts): where each figure sits in time (a level
// at the end of the period it describes, an incremental figure across its period), which figures a
// source's line joins, the envelope across comparable figures, and the axes' labels.
import { dateSeconds, fmt } from './format.js';

const DAY = 86400;

/** The end of a fuzzy date's interval, in seconds: "2025-01" ends at 2025-02-01T00:00Z; an instant is its own end. */
export function endSeconds(s) {
  const m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$/.exec(s);
  if (!m) return Date.parse(s) / 1000;
  const y = Number(m[1]);
  if (m[3]) return Date.UTC(y, Number(m[2]) - 1, Number(m[3]) + 1) / 1000;
  if (m[2]) return Date.UTC(y, Number(m[2]), 1) / 1000;
  return Date.UTC(y + 1, 0, 1) / 1000;
}

/** A metric counted per period (a month's total, a day's count) rather than as a level. */
export const isIncremental = (aggregation) => aggregation === 'incremental';

/**
 * Where a figure sits: a level (cumulative, stock, or a metric nobody defined) at the end of the
 * period it describes; an incremental figure across that period, from validFrom's start to
 * validTo's end. `x` is where its marker goes.
 */
export function placeOf(p, aggregation) {
  if (isIncremental(aggregation)) {
    const x0 = dateSeconds(p.validFrom);
    const x1 = Math.max(endSeconds(p.validTo), x0);
    return { x: (x0 + x1) / 2, x0, x1 };
  }
  const x = endSeconds(p.validTo);
  return { x, x0: x, x1: x };
}

/** The numbers a figure states: its low, best and high that exist (an open bound is no number). */
const boundsOf = (p) => [p.low, p.best, p.high].filter((v) => v !== null && v !== undefined);

/**
 * Of one source's figures for the same place, the one that stands: not superseded, else the
 * newest recorded.
 */
function standing(a, b) {
  if ((a.status === 'superseded') !== (b.status === 'superseded')) return a.status === 'superseded' ? b : a;
  return a.seq > b.seq ? a : b;
}

/**
 * The hull of figures, missing bounds ignored (an at_least has no high, an at_most no low: neither
 * counts as 0 or as infinity): the lowest and highest number any of them states.
 */
export function hullOf(points) {
  const all = points.flatMap(boundsOf);
  if (all.length === 0) return null;
  return { low: Math.min(...all), high: Math.max(...all) };
}

/**
 * The envelope of levels, as steps: at each place, the hull of every source's standing figure by
 * then (retracted ones never count). Only where two sources or more contribute.
 */
function levelEnvelope(series) {
  const pts = series.flatMap((s) =>
    s.points.filter((p) => p.status !== 'retracted').map((p) => ({ p, sid: s.source.id })),
  );
  const xs = [...new Set(pts.map((e) => e.p.x))].sort((a, b) => a - b);
  const band = [];
  for (const x of xs) {
    const latest = new Map();
    for (const { p, sid } of pts) {
      if (p.x > x) continue;
      const cur = latest.get(sid);
      if (!cur || p.x > cur.x) latest.set(sid, p);
      else if (p.x === cur.x) latest.set(sid, standing(cur, p));
    }
    const hull = hullOf([...latest.values()]);
    if (hull && latest.size >= 2) band.push({ x0: x, x1: null, ...hull, sources: latest.size });
    else band.push({ x0: x, x1: null, low: null, high: null, sources: latest.size });
  }
  // Each step lasts to the next one; the last to the chart's right edge (x1 null).
  band.forEach((b, i) => (b.x1 = band[i + 1]?.x0 ?? null));
  return band.filter((b) => b.low !== null);
}

/**
 * The envelope of incremental figures: only figures for the same period compare, so one band per
 * period that two sources or more give a figure for, across that period.
 */
function periodEnvelope(series) {
  const byPeriod = new Map();
  for (const s of series) {
    for (const p of s.points) {
      if (p.status === 'retracted') continue;
      const key = `${p.x0}/${p.x1}`;
      const group = byPeriod.get(key) ?? new Map();
      const cur = group.get(s.source.id);
      group.set(s.source.id, cur ? standing(cur, p) : p);
      byPeriod.set(key, group);
    }
  }
  const band = [];
  for (const group of byPeriod.values()) {
    if (group.size < 2) continue;
    const figures = [...group.values()];
    const hull = hullOf(figures);
    if (hull) band.push({ x0: figures[0].x0, x1: figures[0].x1, ...hull, sources: group.size });
  }
  return band.sort((a, b) => a.x0 - b.x0 || a.x1 - b.x1);
}

/**
 * The chart of one metric's history.
 * - `series`: the sources with a figure drawn (a source whose figures are all hidden is left out,
 *   so the legend names only what is drawn), each point with its place (`x`, `x0`, `x1`).
 * - `xs` and `lines`: uPlot's data. A level's line joins only centres a source stated (`best`:
 *   exact, approx, a range with a best): a bare range or an open bound is `null` there, a gap;
 *   `undefined` where the source has no figure (the line runs on). Incremental figures have no line.
 * - `band`: the envelope, `{ x0, x1, low, high, sources }` (`x1` null: to the right edge).
 */
export function chartModel(history, { aggregation, showRetracted }) {
  const incremental = isIncremental(aggregation);
  const series = history
    .map((s) => ({
      ...s,
      points: s.points
        .filter((p) => showRetracted || p.status !== 'retracted')
        .map((p) => ({ ...p, ...placeOf(p, aggregation) }))
        .sort((a, b) => a.x - b.x || a.seq - b.seq),
    }))
    .filter((s) => s.points.length > 0);
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const lines = series.map((s) => {
    const ys = xs.map(() => undefined);
    if (incremental) return ys;
    const at = new Map();
    for (const p of s.points) {
      if (p.status === 'retracted') continue;
      const cur = at.get(p.x);
      at.set(p.x, cur ? standing(cur, p) : p);
    }
    for (const [x, p] of at) ys[xs.indexOf(x)] = p.best ?? null;
    return ys;
  });
  const band = incremental ? periodEnvelope(series) : levelEnvelope(series);
  const numbers = series.flatMap((s) => s.points.flatMap(boundsOf));
  const yMax = Math.max(1, ...numbers);
  const edges = series.flatMap((s) => s.points.flatMap((p) => [p.x0, p.x1]));
  return { incremental, series, xs, lines, band, yMax, xRange: xRange(edges) };
}

/** The x extent: the places drawn, padded; a single instant gets a month and a half either side. */
export function xRange(edges) {
  if (edges.length === 0) return [Date.now() / 1000 - 60 * DAY, Date.now() / 1000];
  const lo = Math.min(...edges);
  const hi = Math.max(...edges);
  const pad = lo === hi ? 45 * DAY : Math.max((hi - lo) * 0.08, 10 * DAY);
  return [lo - pad, hi + pad];
}

const compactFormats = [
  [1e12, 'T'],
  [1e9, 'B'],
  [1e6, 'M'],
  [1e3, 'k'],
];
const significant = new Intl.NumberFormat('en', { maximumSignificantDigits: 3 });

/** A number in compact form: "950k", "1.2M", "12.5k"; below a thousand as it is ("950"). */
export function compactNumber(n) {
  const a = Math.abs(n);
  for (const [div, suffix] of compactFormats) if (a >= div) return `${significant.format(n / div)}${suffix}`;
  return fmt(n);
}

/**
 * The labels of a value axis: in full while the largest is below 10,000 ("7,500"), else all in
 * compact form ("2.5k", "1.2M"), so that none is longer than the axis has room for.
 */
export function axisNumbers(splits) {
  const max = Math.max(0, ...splits.filter((v) => v !== null && v !== undefined).map(Math.abs));
  return splits.map((v) => (v === null || v === undefined ? '' : max >= 10000 ? compactNumber(v) : fmt(v)));
}

/** Room a value axis needs for its labels at 12px: the ticks, the gap and the longest label. */
export const axisSize = (labels) => Math.ceil(22 + 7.5 * Math.max(1, ...labels.map((l) => l.length)));

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * A date on the time axis, in UTC, as precise as the step between ticks: "2024" for years,
 * "Mar 2024" for months, "13 Mar 2024" for days, "13 Mar 2024 14:00" within a day.
 */
export function axisDate(seconds, step) {
  const d = new Date(seconds * 1000);
  const y = d.getUTCFullYear();
  const mon = MONTHS[d.getUTCMonth()];
  if (step >= 360 * DAY) return String(y);
  if (step >= 28 * DAY) return `${mon} ${y}`;
  const day = `${d.getUTCDate()} ${mon} ${y}`;
  if (step >= DAY) return day;
  return `${day} ${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

/**
 * Markers of different sources at the same spot, spread side by side `step` pixels apart, so
 * that each stays visible: returns each mark's horizontal offset, in the marks' order.
 */
export function spreadCoincident(marks, step) {
  const offsets = marks.map(() => 0);
  const groups = new Map();
  marks.forEach((m, i) => {
    const key = `${Math.round(m.x)}/${Math.round(m.y)}`;
    const g = groups.get(key) ?? [];
    g.push(i);
    groups.set(key, g);
  });
  for (const g of groups.values()) {
    const sources = [...new Set(g.map((i) => marks[i].sid))];
    if (sources.length < 2) continue;
    for (const i of g) offsets[i] = (sources.indexOf(marks[i].sid) - (sources.length - 1) / 2) * step;
  }
  return offsets;
}
