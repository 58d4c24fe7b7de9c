// How the summary's checks and conflicts read on the page: the checks grouped per pair of sources
// (the aligned checks listed, the pairs too far apart in time only counted), and the sentences of
// each. Plain functions of the data, with no DOM, so that Node's unit tests run them as the
// browser does (summary-format.unit.test.ts).
import { count, fmt, intervalText, sourceName } from './format.js';

/**
 * A composite metric's checks per pair of sources (the source whose parts are summed, the one whose
 * total they are checked against), in the order of the summary's `sourcePairs`: pairs with a
 * listed check first, then pairs with only claims too far apart in time. Each group has its
 * checks and its count of `unaligned` pairs; a check whose pair is past the summary's list of
 * pairs still gets a group.
 */
export function checkGroups(m) {
  const key = (a, b) => `${a}\u0000${b}`;
  const groups = new Map();
  for (const p of m.sourcePairs ?? []) {
    groups.set(key(p.componentSource.id, p.compositeSource.id), {
      componentSource: p.componentSource,
      compositeSource: p.compositeSource,
      checks: [],
      unaligned: p.unaligned,
    });
  }
  for (const c of m.checks) {
    const k = key(c.componentSource.id, c.compositeSource.id);
    const g = groups.get(k) ?? {
      componentSource: c.componentSource,
      compositeSource: c.compositeSource,
      checks: [],
      unaligned: 0,
    };
    g.checks.push(c);
    groups.set(k, g);
  }
  const all = [...groups.values()];
  return [...all.filter((g) => g.checks.length > 0), ...all.filter((g) => g.checks.length === 0)];
}

/** A group's heading as text and sources in reading order, so that a view can link each source. */
export const pairParts = (g) =>
  g.componentSource.id === g.compositeSource.id
    ? [g.componentSource, "'s parts against its own total"]
    : [g.componentSource, "'s parts against ", g.compositeSource, "'s total"];

/** A group's heading: "kr-nis's parts against ua-president's total", or "… against its own total". */
export const pairText = (g) =>
  pairParts(g)
    .map((p) => (typeof p === 'string' ? p : sourceName(p)))
    .join('');

/** The pairs of a group too far apart in time: "2 pairs of claims too far apart in time to check (over 31 days)". */
export const unalignedText = (n, toleranceDays) =>
  `${count(n, 'pair')} of claims too far apart in time to check (over ${count(toleranceDays, 'day')})`;

/** The parts of a `part_exceeds_total` check above the total alone: " · wounded alone exceeds the total". */
export function exceedsText(c) {
  const over = c.componentClaims.filter((p) => c.exceeding.includes(p.claimId)).map((p) => p.metric);
  if (over.length === 0) return '';
  return ` · ${over.join(' and ')} alone ${over.length === 1 ? 'exceeds' : 'exceed'} the total`;
}

/** When the check's figures were stated: " · stated 2024-12-19 and 2024-12-23". */
export function statedText(c) {
  const parts = [...new Set(c.componentClaims.map((p) => p.statedAt))];
  return ` · stated ${parts.join(', ')} and ${c.compositeClaim.statedAt}`;
}

/** What a metric's lists left out, or null: "3 more checks not listed · 12 older totals not paired". */
export function leftOffText(m) {
  const words = [
    m.checksLeftOff > 0
      ? `${fmt(m.checksLeftOff)} more ${m.checksLeftOff === 1 ? 'check' : 'checks'} not listed`
      : null,
    m.sourcePairsLeftOff > 0 ? `${count(m.sourcePairsLeftOff, 'more pair')} of sources not listed` : null,
    m.compositesNotPaired > 0
      ? `${fmt(m.compositesNotPaired)} older ${m.compositesNotPaired === 1 ? 'total' : 'totals'} not paired`
      : null,
  ].filter((w) => w !== null);
  return words.length === 0 ? null : words.join(' · ');
}

/**
 * A conflict as text and sources in reading order, so that a view can write each source as a
 * link: [kr, ": [1,000, 2,000] (2025-03-11) vs ", ua, ": [3,800, 4,200] (2025-03-01) · gap 1,800, 10 days apart"].
 */
export const conflictParts = (c) => [
  c.a.source,
  `: ${intervalText({ low: c.a.low ?? 0, high: c.a.high })} (${c.a.statedAt}) vs `,
  c.b.source,
  `: ${intervalText({ low: c.b.low ?? 0, high: c.b.high })} (${c.b.statedAt}) · gap ${fmt(c.gap)}, ${c.days === 0 ? 'same time' : `${count(c.days, 'day')} apart`}`,
];

/** A conflict as one sentence (conflictParts with the sources' names). */
export const conflictText = (c) =>
  conflictParts(c)
    .map((p) => (typeof p === 'string' ? p : sourceName(p)))
    .join('');
