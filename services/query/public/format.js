// How the page writes what the API answers: numbers, instants, fuzzy dates, stated values,
// intervals and the sentences built of them. Plain functions of the data, with no DOM, so that
// Node's unit tests run them exactly as the browser does (format.unit.test.ts).

const numbers = new Intl.NumberFormat('en');

/** A number as the page writes it ("12,500"); a missing one is "?". */
export const fmt = (n) => (n === null || n === undefined ? '?' : numbers.format(n));

/** A value as it was stated: "≈300", "10,000–12,000", "≥600", "≤30", "2,700". */
export function valueText(v) {
  switch (v.kind) {
    case 'exact':
      return fmt(v.value);
    case 'approx':
      return `≈${fmt(v.value)}`;
    case 'range':
      return `${fmt(v.low)}–${fmt(v.high)}`;
    case 'at_least':
      return `≥${fmt(v.value)}`;
    case 'at_most':
      return `≤${fmt(v.value)}`;
    default:
      return '?';
  }
}

// Instants are shown in UTC whatever the reader's zone, so a shared link reads the same everywhere.
const dateTime = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'UTC' });

/** An instant (ISO 8601): "12 Feb 2025, 10:30:00 UTC". */
export const when = (iso) => `${dateTime.format(new Date(iso))} UTC`;

/** Start of a fuzzy date (YYYY, YYYY-MM, YYYY-MM-DD or a date-time), in seconds. */
export function dateSeconds(s) {
  const m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$/.exec(s);
  const ms = m ? Date.UTC(Number(m[1]), m[2] ? Number(m[2]) - 1 : 0, m[3] ? Number(m[3]) : 1) : Date.parse(s);
  return ms / 1000;
}

/** Two fuzzy dates as a span: "2025-01 to 2025-02", or one date when they are the same. */
export const spanText = (from, to) => (from === to ? from : `${from} to ${to}`);

/** "1 claim", "2 claims". */
export const count = (n, noun) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/** A closed interval, open above as ∞: "[2,985, 3,015]", "[600, ∞]". */
export const intervalText = (i) => `[${fmt(i.low)}, ${i.high === null ? '∞' : fmt(i.high)}]`;

/** A source by its name, else its slug. */
export const sourceName = (source) => source.name ?? source.id;

/** A metric by its label, else its slug. */
export const metricTitle = (m) => m.label ?? m.metric;

/** A topic by its label when it has one, else its slug. */
export const topicTitle = (t) => (typeof t.label === 'string' && t.label.trim() !== '' ? t.label : t.topic);

/** The attribution chain, each hop by its name when it has one: "A spokesperson (spokesperson) → tass (relay)"; "" when direct. */
export const viaText = (via) => (via ?? []).map((v) => `${v.name ?? v.id} (${v.role})`).join(' → ');

/** A metric in the topics list: "killed: 2 claims from 1 source, stated 2025-01 to 2025-02". */
export const metricSummaryText = (m) =>
  `${m.metric}: ${count(m.claims, 'claim')} from ${count(m.sources, 'source')}, stated ${spanText(m.firstStatedAt, m.lastStatedAt)}`;

/** What follows a metric's title: " killed · persons · cumulative". */
export const metricMetaText = (m) =>
  ` ${m.metric}${m.unit ? ` · ${m.unit}` : ''}${m.aggregation ? ` · ${m.aggregation}` : ''}`;

/**
 * The change between two figures of a source, only when both have a centre the source stated
 * (`best`: exact, approx, a range with a best); null when either is a bare range or an open bound,
 * whose middle no source said.
 */
export const statedChange = (from, to) =>
  from.best === null || from.best === undefined || to.best === null || to.best === undefined
    ? null
    : to.best - from.best;

/**
 * A latest figure's change from the same source's previous one (which it must have):
 * " · ▲ +15 from ≈300 (2025-01)", or " · was 10,000–12,000 (2024-11)" when either has no stated centre.
 */
export function changeText(latest) {
  const from = `${valueText(latest.previous.value)} (${latest.previous.statedAt})`;
  const c = statedChange(latest.previous, latest);
  if (c === null) return ` · was ${from}`;
  return ` · ${c > 0 ? '▲ +' : c < 0 ? '▼ −' : '± '}${fmt(Math.abs(c))} from ${from}`;
}

/** "Envelope across 2 sources: 1,140 – 4,200"; an unbounded top is "open". */
export const envelopeText = (e) =>
  `Envelope across ${count(e.sources, 'source')}: ${fmt(e.minLow)} – ${e.maxHigh === null ? 'open' : fmt(e.maxHigh)}`;

/**
 * The envelope of figures (each source's latest), missing bounds ignored rather than counted as
 * 0: "Envelope across 2 sources: 30 – 15,000 (open bounds not counted)"; null without figures.
 */
export function hullText(figures) {
  const numbers = figures.flatMap((f) => [f.low, f.best, f.high]).filter((v) => v !== null && v !== undefined);
  if (numbers.length === 0) return null;
  const open = figures.some((f) => f.low === null || f.high === null);
  return `Envelope across ${count(figures.length, 'source')}: ${fmt(Math.min(...numbers))} – ${fmt(Math.max(...numbers))}${open ? ' (open bounds not counted)' : ''}`;
}

/**
 * A composite check as text and sources in reading order, so that a view can write each source
 * as a link: [componentSource, ": killed + wounded = [2,985, 3,015] vs ", compositeSource, ": [3,800, 4,200]"].
 */
export const checkParts = (c) => [
  c.componentSource,
  `: ${c.components.join(' + ')} = ${intervalText(c.sum)} vs `,
  c.compositeSource,
  `: ${intervalText(c.against)}`,
];

/** A composite check: "kr-nis: killed + wounded = [2,985, 3,015] vs ua-president: [3,800, 4,200]". */
export const checkText = (c) =>
  checkParts(c)
    .map((p) => (typeof p === 'string' ? p : sourceName(p)))
    .join('');

/** The gap of a check that has one: " · gap 785 (sum below)". */
export const gapText = (c) => ` · gap ${fmt(c.gap)} (sum ${c.direction})`;

/** A claim's figure in full: "≈300 persons (low 285, best 300, high 315; rule approx-digits@1)". */
export const figureText = (k) =>
  `${valueText(k.value)} ${k.unit} (low ${fmt(k.low)}, best ${fmt(k.best)}, high ${fmt(k.high)}; rule ${k.rule})`;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A fuzzy date as precise as it was given: "13 Nov 2024", "Nov 2024", "2024"; an instant as `when`. */
export function dateText(s) {
  const m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$/.exec(s);
  if (!m) return Number.isNaN(Date.parse(s)) ? s : when(s);
  if (!m[2]) return m[1];
  const month = `${MONTHS[Number(m[2]) - 1]} ${m[1]}`;
  return m[3] ? `${Number(m[3])} ${month}` : month;
}

/** A step of the "published by" slider: "13 Nov 2024 (2 reports)", or the end past the last one. */
export const publishedStepText = (step) =>
  step === undefined
    ? 'now (everything published)'
    : `${dateText(step.publishedAt)} (${count(step.reports, 'report')})`;

/** A step of the "recorded by claimtrail" slider: an instant of the timeline, or the live end past the last one. */
export const instantText = (instant) =>
  instant === undefined ? 'now (live)' : `${when(instant.knownAt)} (seq ${instant.seq}: ${instant.types.join(', ')})`;

const REVISION_WORDS = {
  ClaimRecorded: 'Recorded',
  ClaimCited: 'Cited again',
  ClaimCorrected: 'Corrected',
  ClaimRetracted: 'Retracted',
};

/** A revision's event type in words ("Corrected"); an unknown type as it is. */
export const revisionWord = (type) => (Object.hasOwn(REVISION_WORDS, type) ? REVISION_WORDS[type] : type);

/** A field's value in a correction: a value as stated ("550"), anything else as JSON; nothing as "—". */
const fieldText = (f, v) =>
  v === undefined ? '—' : f === 'value' && v && typeof v === 'object' ? valueText(v) : JSON.stringify(v);

/**
 * A correction's changes, before → after when the revision says what it replaced:
 * "value: 500 → 550; statedAt: \"2025-01\" → \"2025-02\""; without `before`, "value → 550".
 */
export const changesText = (changes, before) =>
  Object.entries(changes)
    .map(([f, v]) => (before ? `${f}: ${fieldText(f, before[f])} → ${fieldText(f, v)}` : `${f} → ${fieldText(f, v)}`))
    .join('; ');

/**
 * The live line in the header: whether the feed runs, the seq it reached, and for a view pinned
 * to a past instant that instant and whether newer data exists.
 */
export function liveText({ refused, knownAt, liveSeq, shownSeq }) {
  if (refused) return 'Live updates need a read token';
  if (knownAt) return `Viewing what was known on ${when(knownAt)}${liveSeq > shownSeq ? ' · newer data exists' : ''}`;
  return liveSeq > 0 ? `Live · seq ${liveSeq}` : 'Connecting…';
}

/** A source's kind and country: "military · UA"; "" when it has neither. */
export const sourceMetaText = (s) => [s.kind, s.country].filter((x) => typeof x === 'string' && x !== '').join(' · ');

/**
 * A source's counts: "11 claims in 2 topics, stated 2025-01-01 to 2025-03-15 · 1 corrected · 1 retracted";
 * "No claims of its own" for a source only named as a hop.
 */
export function sourceCountsText(s) {
  if (s.claims === 0) return 'No claims of its own';
  return [
    `${count(s.claims, 'claim')} in ${count(s.topics, 'topic')}, stated ${spanText(s.firstStatedAt, s.lastStatedAt)}`,
    s.corrected > 0 ? `${fmt(s.corrected)} corrected` : null,
    s.retracted > 0 ? `${fmt(s.retracted)} retracted` : null,
  ]
    .filter((x) => x !== null)
    .join(' · ');
}

/** A signed change: "▲ +40", "▼ −89.5", "± 0". */
const signed = (c) => `${c > 0 ? '▲ +' : c < 0 ? '▼ −' : '± '}${fmt(Math.abs(c))}`;

/** A revision step: "110 (2025-01-01) → 150 (2025-01-11): ▲ +40 in 10 days". */
export const stepText = (s) =>
  `${fmt(s.from.best)} (${s.from.statedAt}) → ${fmt(s.to.best)} (${s.to.statedAt}): ${signed(s.change)} in ${count(s.days, 'day')}`;

/**
 * How a source revised one metric: "3 figures with a stated centre, 2 revisions, a mean change of 40";
 * "1 figure with a stated centre, no revision".
 */
export function revisionsText(r) {
  const figures = `${count(r.figures, 'figure')} with a stated centre`;
  if (r.revisions === 0) return `${figures}, no revision`;
  return `${figures}, ${count(r.revisions, 'revision')}, a mean change of ${fmt(r.meanAbsChange)}`;
}

/**
 * How a source's figures fared in checks: "1 consistent · 1 gap", other statuses after those two
 * when they occur, then the pairs too far apart in time and the checks left off the list, if any;
 * "No check against another source" without a check.
 */
export function checkCountsText(c) {
  const more = [
    c.unaligned > 0 ? `${count(c.unaligned, 'pair')} too far apart in time to check` : null,
    c.checksLeftOff > 0 ? `${fmt(c.checksLeftOff)} more not listed` : null,
  ].filter((x) => x !== null);
  if (c.checks.length === 0) return ['No check against another source', ...more].join(' · ');
  const statuses = ['consistent', 'gap', ...Object.keys(c.byStatus).filter((s) => s !== 'consistent' && s !== 'gap')];
  return [
    ...statuses
      .filter((s, i) => i < 2 || (c.byStatus[s] ?? 0) > 0)
      .map((s) => `${fmt(c.byStatus[s] ?? 0)} ${s.replaceAll('_', ' ')}`),
    ...more,
  ].join(' · ');
}
