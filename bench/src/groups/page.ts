// page: how long the web page takes to draw a busy topic once its data has arrived. A topic of
// 20 sources × 500 points of one metric, posted through ingest to `claimtrail serve` (ingest,
// projector and query in one child process), opened in headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core) N times; each load gives the time from the
// history's last page arriving (the page's performance mark `claimtrail:history:<topic>/<metric>`,
// api.js) to the chart's first draw done (`claimtrail:chart:<topic>/<metric>`, chart.js): building
// the metric's section, its table and the uPlot chart. Measured, not asserted: figure
// `page.draw.20x500` (ms, the median of the loads), goal ≤ 1,000 ms in goalsFor.
import { existsSync } from 'node:fs';
import type { BenchContext } from '../context.ts';
import { NotYetMeasured } from '../harness.ts';
import { addFigure, startServe } from '../product.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const PAGE_TOPIC = 'bench-page';
export const PAGE_METRIC = 'killed';
const SOURCES = 20;
const POINTS = 500;

/** The claims of one source: POINTS days of a rising count, one kind of value in four each. */
export function sourceClaims(source: number): unknown[] {
  return Array.from({ length: POINTS }, (_, k) => {
    const day = new Date(Date.UTC(2023, 0, 1) + k * 86_400_000).toISOString().slice(0, 10);
    const n = 1000 + source * 50 + k * 10;
    const value =
      k % 4 === 0
        ? { kind: 'exact', value: n }
        : k % 4 === 1
          ? { kind: 'approx', value: n }
          : k % 4 === 2
            ? { kind: 'range', low: n - 40, high: n + 40 }
            : { kind: 'at_least', value: n };
    return {
      topic: PAGE_TOPIC,
      metric: PAGE_METRIC,
      value,
      source: { id: `bench-page-${source}`, name: `Source ${source}` },
      statedAt: day,
      quote: `about ${n} killed by ${day}`,
    };
  });
}

/**
 * Opens `url` (a topic page) `loads` times in `browser`; each load's milliseconds from the
 * history's arrival to the chart's first draw.
 */
export async function drawTimes(
  browser: import('playwright-core').Browser,
  url: string,
  topic: string,
  metric: string,
  loads: number,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < loads; i++) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await page.goto(url);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
      const ms = await page.evaluate(
        ({ history, chart }) => {
          const arrived = performance.getEntriesByName(history)[0];
          const drawn = performance.getEntriesByName(chart)[0];
          return arrived && drawn ? drawn.startTime - arrived.startTime : null;
        },
        { history: `claimtrail:history:${topic}/${metric}`, chart: `claimtrail:chart:${topic}/${metric}` },
      );
      if (ms === null) throw new Error(`${url}: the page set no history or chart mark for ${topic}/${metric}`);
      times.push(ms);
    } finally {
      await page.close();
    }
  }
  return times;
}

export async function runPage(ctx: BenchContext): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new NotYetMeasured(`no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  const { chromium } = await import('playwright-core');

  const { serve, token, ingestUrl, queryUrl } = await startServe(ctx, 'page');

  // One report per source, its 500 claims.
  let lastSeq = 0;
  for (let source = 0; source < SOURCES; source++) {
    const res = await fetch(`${ingestUrl}/v1/reports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        report: {
          url: `https://example.org/bench-page/${source}`,
          publisher: 'Bench Wire',
          publishedAt: '2024-06-01',
        },
        claims: sourceClaims(source),
      }),
    });
    if (res.status !== 202) throw new Error(`POST /v1/reports answered ${res.status}: ${await res.text()}`);
    lastSeq = Math.max(lastSeq, ((await res.json()) as { lastSeq: number }).lastSeq);
  }
  // Until the query service has applied every claim (each read waits at most 5 s, then 503).
  for (let i = 0; ; i++) {
    const res = await fetch(`${queryUrl}/v1/topics?minSeq=${lastSeq}`);
    if (res.ok) break;
    if (i > 60) throw new Error(`the query service did not reach seq ${lastSeq}: ${res.status}`);
  }
  const history = await fetch(`${queryUrl}/v1/topics/${PAGE_TOPIC}/metrics/${PAGE_METRIC}/history?limit=50000`);
  const points = ((await history.json()) as { series: { points: unknown[] }[] }).series.reduce(
    (n, s) => n + s.points.length,
    0,
  );
  if (points !== SOURCES * POINTS) throw new Error(`the history holds ${points} points, not ${SOURCES * POINTS}`);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
  });
  try {
    // A first load warms the service's statements and the browser's module cache; it is not counted.
    await drawTimes(browser, `${queryUrl}/topics/${PAGE_TOPIC}`, PAGE_TOPIC, PAGE_METRIC, 1);
    const loads = Math.max(5, ctx.reps);
    const times = await drawTimes(browser, `${queryUrl}/topics/${PAGE_TOPIC}`, PAGE_TOPIC, PAGE_METRIC, loads);
    addFigure(
      ctx,
      'page.draw.20x500',
      'ms',
      times,
      `/topics/${PAGE_TOPIC} in headless Chromium (1280 × 900), ${SOURCES} sources × ${POINTS} points of ${PAGE_METRIC} posted through ingest to claimtrail serve: from the history's last page arriving to the chart's first draw (performance marks of the page), ${loads} loads after one uncounted`,
    );
  } finally {
    await browser.close();
    await serve.stop();
  }
}
