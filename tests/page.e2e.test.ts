// The web page in headless Chromium (Debian's package) against the whole product in-process.
import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { HISTORY_CSV_COLUMNS } from '../services/query/src/history-csv.ts';
import { startProduct, type Product } from './helpers/product.ts';

const ARTIFACTS = new URL('./artifacts/', import.meta.url);
mkdirSync(ARTIFACTS, { recursive: true });
const shot = (name: string) => new URL(`page-${name}.png`, ARTIFACTS).pathname;

const TOPIC = 'dprk-troops-in-russia';

let product: Product;
let browser: Browser;

beforeAll(async () => {
  product = await startProduct('page', { demo: true });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await product?.stop();
});

async function openPage(path: string, viewport = { width: 1280, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  const external: string[] = [];
  page.on('request', (r) => {
    if (!r.url().startsWith(product.queryUrl)) external.push(r.url());
  });
  page.on('pageerror', (err) => {
    throw err;
  });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`);
  });
  consoleErrors.set(page, errors);
  await page.goto(`${product.queryUrl}${path}`);
  await page.waitForSelector('body[data-ready="true"]');
  expect(external).toEqual([]);
  return page;
}

/** What each page opened with openPage logged as an error (a resource answered 404, say). */
const consoleErrors = new WeakMap<Page, string[]>();

/** The page with the API's pages cut to `limit` items, and the API requests it made. */
async function openPaged(path: string, limit: number) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const asked: URL[] = [];
  await page.route(
    (url) => url.pathname === '/v1/topics' || url.pathname.endsWith('/history'),
    async (route) => {
      const url = new URL(route.request().url());
      url.searchParams.set('limit', String(limit));
      asked.push(url);
      await route.continue({ url: url.toString() });
    },
  );
  page.on('pageerror', (err) => {
    throw err;
  });
  await page.goto(`${product.queryUrl}${path}`);
  await page.waitForSelector('body[data-ready="true"]');
  return { page, asked };
}

/** Claim ids per source of a metric's one-page history, as the page's table lists them by default. */
async function claimsBySource(topic: string, metric: string) {
  const history = await product.get(`/v1/topics/${topic}/metrics/${metric}/history?includeRetracted=true`);
  expect(history.body.nextCursor).toBeNull();
  return (history.body.series as { source: { id: string }; points: { claimId: string; status: string }[] }[]).map(
    (s) => [s.source.id, s.points.filter((p) => p.status !== 'retracted').map((p) => p.claimId)] as const,
  );
}

async function report(claims: unknown[], url: string) {
  const r = await product.post('/v1/reports', {
    report: { url, publisher: 'Test Wire', publishedAt: '2025-03-01' },
    claims,
  });
  expect(r.status).toBe(202);
  return r.body as { lastSeq: number; claims: { claimId: string; seq: number }[] };
}

describe('the web page', () => {
  it('renders a chart per demo metric with the right number of points per source, and the checks', async () => {
    const page = await openPage(`/topics/${TOPIC}`);
    const sections = page.locator('section.metric');
    expect(await sections.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.metric))).toEqual([
      'deployed',
      'killed',
      'killed_or_wounded',
      'reinforcements',
      'wounded',
    ]);
    for (const metric of ['deployed', 'killed', 'killed_or_wounded', 'reinforcements', 'wounded']) {
      const section = page.locator(`section.metric[data-metric="${metric}"]`);
      expect(await section.locator('canvas').count()).toBeGreaterThan(0);
      const history = await product.get(`/v1/topics/${TOPIC}/metrics/${metric}/history`);
      const expected = Object.fromEntries(
        (history.body.series as { source: { id: string }; points: unknown[] }[]).map((s) => [
          s.source.id,
          s.points.length,
        ]),
      );
      const rows = await section
        .locator('table.points tbody tr')
        .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.source!));
      const shown: Record<string, number> = {};
      for (const s of rows) shown[s] = (shown[s] ?? 0) + 1;
      expect(shown).toEqual(expected);
    }
    // The checks the summary gives, each shown with its status, its two intervals and its gap.
    const kow = page.locator('section.metric[data-metric="killed_or_wounded"]');
    const summary = await product.get(`/v1/topics/${TOPIC}/summary`);
    type Check = {
      compositeSource: { id: string };
      status: string;
      sum: { low: number | null; high: number | null };
      against: { low: number | null; high: number | null };
      gap: number | null;
    };
    const apiChecks = (summary.body.metrics as { metric: string; checks: Check[] }[]).find(
      (m) => m.metric === 'killed_or_wounded',
    )!.checks;
    expect(apiChecks.length).toBeGreaterThan(0);
    expect(await kow.locator('li.check:not(.check-skipped)').count()).toBe(apiChecks.length);
    const n = (x: number | null) => (x === null ? '' : x.toLocaleString('en-US'));
    const ua = apiChecks.find((c) => c.compositeSource.id === 'ua-president')!;
    const shown = kow.locator('li.check[data-composite-source="ua-president"]').first();
    expect(await shown.getAttribute('data-status')).toBe(ua.status);
    expect(await shown.textContent()).toContain(`[${n(ua.sum.low)}, ${n(ua.sum.high)}]`);
    expect(await shown.textContent()).toContain(`[${n(ua.against.low)}, ${n(ua.against.high)}]`);
    if (ua.status === 'gap') expect(await shown.textContent()).toContain(`gap ${n(ua.gap)}`);
    // Grouped per pair of sources as the summary lists them, the pairs too far apart only counted;
    // the sources that disagree listed with their gap.
    const kowBody = (
      summary.body.metrics as {
        metric: string;
        sourcePairs: { componentSource: { id: string }; compositeSource: { id: string }; unaligned: number }[];
        conflicts: { a: { source: { id: string } }; b: { source: { id: string } }; gap: number }[];
      }[]
    ).find((m) => m.metric === 'killed_or_wounded')!;
    expect(
      await kow
        .locator('.check-pair')
        .evaluateAll((els) =>
          els.map((e) => [(e as HTMLElement).dataset.componentSource, (e as HTMLElement).dataset.compositeSource]),
        ),
    ).toEqual(expect.arrayContaining(kowBody.sourcePairs.map((sp) => [sp.componentSource.id, sp.compositeSource.id])));
    expect(await kow.locator('li.unaligned').count()).toBe(kowBody.sourcePairs.filter((sp) => sp.unaligned > 0).length);
    expect(kowBody.conflicts.length).toBeGreaterThan(0);
    const conflicts = kow.locator('li.conflict');
    expect(await conflicts.count()).toBe(kowBody.conflicts.length);
    expect(await conflicts.first().getAttribute('data-lower')).toBe(kowBody.conflicts[0]!.a.source.id);
    expect(await conflicts.first().textContent()).toContain(`gap ${n(kowBody.conflicts[0]!.gap)}`);
    // A tooltip with the quote, source, chain and report: reached by keyboard (arrows step through points).
    await kow.locator('.u-wrap').focus();
    await page.keyboard.press('ArrowRight');
    const tip = kow.locator('.tip:not([hidden])');
    await tip.waitFor();
    const tipText = await tip.textContent();
    // The first point in time carries its quote (one of the killed-or-wounded figures the demo reports quote).
    expect(tipText).toMatch(/killed or injured|dead or wounded|killed or wounded|conservative estimate|casualties/);
    expect(await tip.locator('a.claim-link').count()).toBe(1);
    await kow.screenshot({ path: shot('tooltip') });
    await page.screenshot({ path: shot('demo'), fullPage: true });
    expect(consoleErrors.get(page)).toEqual([]);
    await page.close();

    const phone = await openPage(`/topics/${TOPIC}`, { width: 390, height: 844 });
    const overflow = await phone.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: shot('phone'), fullPage: true });
    await phone.close();
  });

  it('moving the "known on" slider to before a correction shows the old value', async () => {
    const topic = 'slider-test';
    const posted = await report(
      [
        {
          topic,
          metric: 'killed',
          value: { kind: 'exact', value: 500 },
          source: { id: 'test-ministry', name: 'Test ministry' },
          statedAt: '2025-02',
          quote: 'five hundred',
        },
      ],
      'https://example.org/slider',
    );
    const claimId = posted.claims[0]!.claimId;
    await new Promise((r) => setTimeout(r, 20));
    const corrected = await product.post(`/v1/claims/${claimId}/corrections`, {
      changes: { value: { kind: 'exact', value: 550 } },
      reason: 'misread the figure',
    });
    expect(corrected.status).toBe(202);
    await product.get(`/v1/topics?minSeq=${(corrected.body as { seq: number }).seq}`);

    const page = await openPage(`/topics/${topic}`);
    const figure = page.locator('section.metric[data-metric="killed"] li[data-source="test-ministry"] .figure');
    expect(await figure.textContent()).toBe('550');
    // "Published by" is the default axis; "recorded by claimtrail" steps through transaction time.
    expect(await page.locator('#published-by').count()).toBe(1);
    await page.locator('#axis-recorded').check();
    await page.waitForFunction(() => new URL(location.href).searchParams.get('axis') === 'recorded');
    const slider = page.locator('#known-on');
    await slider.waitFor();
    // now → the correction → the report: two steps back.
    await slider.focus();
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => new URL(location.href).searchParams.has('knownAt'));
    await page.waitForFunction(
      () =>
        document.querySelector('section.metric[data-metric="killed"] li[data-source="test-ministry"] .figure')
          ?.textContent === '500',
    );
    const knownAt = new URL(page.url()).searchParams.get('knownAt')!;
    expect(Date.parse(knownAt)).toBeGreaterThan(0);
    await page.screenshot({ path: shot('slider-before-correction'), fullPage: true });

    // The URL keeps the state: opening it again shows the same past.
    const again = await openPage(`/topics/${topic}?axis=recorded&knownAt=${encodeURIComponent(knownAt)}`);
    expect(
      await again.locator('section.metric[data-metric="killed"] li[data-source="test-ministry"] .figure').textContent(),
    ).toBe('500');
    expect(await again.locator('#known-on').inputValue()).toBe('0');
    await again.close();

    // The claim view tells the story.
    await page.goto(`${product.queryUrl}/claims/${claimId}`);
    await page.waitForSelector('body[data-ready="true"]');
    const story = await page
      .locator('ol.story li')
      .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.type));
    expect(story).toEqual(['ClaimRecorded', 'ClaimCorrected']);
    expect(await page.locator('ol.story').textContent()).toContain('misread the figure');
    await page.screenshot({ path: shot('claim'), fullPage: true });
    await page.close();
  });

  it('a report posted through the API appears without a reload', async () => {
    const page = await openPage(`/topics/${TOPIC}`);
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
    await page.waitForFunction(() => document.getElementById('live')?.textContent?.startsWith('Live'));
    await report(
      [
        {
          topic: TOPIC,
          metric: 'killed',
          value: { kind: 'at_least', value: 600 },
          source: { id: 'live-agency', name: 'Live agency' },
          via: [{ id: 'a-spokesperson', role: 'spokesperson' }],
          statedAt: '2025-02',
          quote: 'at least 600 killed',
        },
      ],
      'https://example.org/live',
    );
    await page.waitForSelector('section.metric[data-metric="killed"] li[data-source="live-agency"]', {
      timeout: 10_000,
    });
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    expect(
      await page.locator('section.metric[data-metric="killed"] li[data-source="live-agency"] .figure').textContent(),
    ).toBe('≥600');
    // The demo's five NIS points and the new one (the table is filled once the charts are drawn).
    await page.waitForSelector(
      'section.metric[data-metric="killed"] table.points tbody tr[data-source="live-agency"]',
      {
        state: 'attached',
      },
    );
    expect(await page.locator('section.metric[data-metric="killed"] table.points tbody tr').count()).toBe(6);
    await page.screenshot({ path: shot('live'), fullPage: true });
    await page.close();
  });

  it('a quote containing <script> renders as text', async () => {
    const quote = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> 42 dead';
    const posted = await report(
      [
        {
          topic: 'xss-test',
          metric: 'killed',
          value: { kind: 'exact', value: 42 },
          source: { id: 'xss-source', name: '<b>bold</b> source' },
          statedAt: '2025-02',
          quote,
        },
      ],
      'https://example.org/xss',
    );
    await product.get(`/v1/topics?minSeq=${posted.lastSeq}`);
    const page = await openPage('/topics/xss-test');
    await page.locator('details.data summary').first().click();
    expect(await page.locator('td.quote').first().textContent()).toBe(quote);
    expect(await page.locator('li[data-source="xss-source"] .who').textContent()).toBe('<b>bold</b> source');
    expect(await page.locator('main script, main img, main b').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await page.screenshot({ path: shot('xss'), fullPage: true });

    await page.goto(`${product.queryUrl}/claims/${posted.claims[0]!.claimId}`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.locator('main blockquote.quote').first().textContent()).toBe(quote);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await page.close();
  });

  it('has an icon, and answers /favicon.ico, so a browser logs no 404 for it', async () => {
    for (const path of ['/favicon.ico', '/assets/favicon.svg']) {
      const res = await fetch(`${product.queryUrl}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe('image/svg+xml');
      expect(await res.text(), path).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    }
    const page = await openPage('/');
    expect(await page.locator('link[rel="icon"]').getAttribute('href')).toBe('/assets/favicon.svg');
    // The browser asks for the icon after the load event, outside the page's own requests.
    await page.waitForTimeout(500);
    expect(consoleErrors.get(page)).toEqual([]);
    await page.close();
  });

  it('follows nextCursor: with one topic and one point a page, the list and the charts are whole', async () => {
    const posted = await report(
      ['paging-b', 'paging-a'].flatMap((topic) =>
        ['2025-01', '2025-02', '2025-03'].map((statedAt, i) => ({
          topic,
          metric: 'killed',
          value: { kind: 'exact', value: 100 + i },
          source: { id: i === 1 ? 'paging-two' : 'paging-one' },
          statedAt,
        })),
      ),
      'https://example.org/paging',
    );
    const all = await product.get(`/v1/topics?minSeq=${posted.lastSeq}`);
    expect(all.body.nextCursor).toBeNull();
    const slugs = (all.body.topics as { topic: string }[]).map((t) => t.topic);
    // A topic is listed by its label when it has one (the demo's does), else by its slug.
    const names = (all.body.topics as { topic: string; label?: string }[]).map((t) => t.label ?? t.topic);
    expect(slugs.length).toBeGreaterThanOrEqual(3);

    const list = await openPaged('/', 1);
    expect(await list.page.locator('a.topic-link').evaluateAll((els) => els.map((e) => e.textContent))).toEqual(names);
    // Distinct cursors: a live update may redraw the list while the test reads it.
    const cursors = (urls: URL[]) => new Set(urls.map((u) => u.searchParams.get('cursor')).filter((c) => c !== null));
    expect(cursors(list.asked).size).toBe(slugs.length - 1);
    await list.page.close();

    for (const [topic, metrics] of [
      ['paging-a', ['killed']],
      [TOPIC, ['deployed', 'killed', 'killed_or_wounded', 'reinforcements', 'wounded']],
    ] as const) {
      const { page, asked } = await openPaged(`/topics/${topic}`, 1);
      for (const metric of metrics) {
        const rows = await page
          .locator(`section.metric[data-metric="${metric}"] table.points tbody tr`)
          .evaluateAll((els) =>
            els.map((e) => [(e as HTMLElement).dataset.source!, (e as HTMLElement).dataset.claim!]),
          );
        const expected = (await claimsBySource(topic, metric)).flatMap(([source, claims]) =>
          claims.map((claim) => [source, claim]),
        );
        expect(rows, `${topic} ${metric}`).toEqual(expected);
      }
      // Every page after the first is asked as of the first page's instant.
      const histories = asked.filter((u) => u.pathname.endsWith('/history'));
      const later = histories.filter((u) => u.searchParams.has('cursor'));
      expect(later.length).toBeGreaterThan(0);
      for (const u of later) expect(u.searchParams.get('knownAt')).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      expect(histories.filter((u) => !u.searchParams.has('cursor')).every((u) => !u.searchParams.has('knownAt'))).toBe(
        true,
      );
      if (topic === 'paging-a') {
        // Three points of two sources over three pages: paging-one's first and third join in one series.
        expect(await page.locator('section.metric[data-metric="killed"]').getAttribute('data-points')).toBe('3');
        expect(cursors(later).size).toBe(2);
      }
      await page.close();
    }
  });

  it("shows a topic's label as its heading and in the list, else its slug", async () => {
    const label = 'North Korean troops in Russia';
    const posted = await report(
      [{ topic: 'no-label', metric: 'killed', value: { kind: 'exact', value: 1 }, source: { id: 'label-test' } }],
      'https://example.org/label',
    );
    await product.get(`/v1/topics?minSeq=${posted.lastSeq}`);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // The topics list as the API gives it, with a label on the demo topic only.
    await page.route(
      (url) => url.pathname === '/v1/topics',
      async (route) => {
        const res = await route.fetch();
        const body = await res.json();
        for (const t of body.topics) {
          if (t.topic === TOPIC) Object.assign(t, { label, description: 'Deployed, killed and wounded' });
          else delete t.label;
        }
        await route.fulfill({ response: res, json: body });
      },
    );
    page.on('pageerror', (err) => {
      throw err;
    });
    await page.goto(`${product.queryUrl}/`);
    await page.waitForSelector('body[data-ready="true"]');
    const links = page.locator('a.topic-link');
    expect(await links.filter({ hasText: label }).getAttribute('href')).toBe(`/topics/${TOPIC}`);
    expect(await links.evaluateAll((els) => els.map((e) => e.textContent))).toContain('no-label');

    await page.goto(`${product.queryUrl}/topics/${TOPIC}`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.locator('main h1').textContent()).toBe(label);
    expect(await page.title()).toBe(`claimtrail: ${label}`);
    await page.screenshot({ path: shot('label'), fullPage: true });

    await page.goto(`${product.queryUrl}/topics/no-label`);
    await page.waitForSelector('body[data-ready="true"]');
    expect(await page.locator('main h1').textContent()).toBe('no-label');
    await page.close();
  });

  it("a source's name on the topic page opens its page: its claims by topic and metric, its revisions and checks", async () => {
    const page = await openPage(`/topics/${TOPIC}`);
    // Both sources of a check are links too.
    const check = page.locator('section.metric[data-metric="killed_or_wounded"] li.check').first();
    expect(await check.locator('a').evaluateAll((as) => as.map((x) => x.getAttribute('href')))).toEqual([
      `/sources/${await check.getAttribute('data-component-source')}`,
      `/sources/${await check.getAttribute('data-composite-source')}`,
    ]);
    // And those of each pair's heading.
    const pair = page.locator('section.metric[data-metric="killed_or_wounded"] .check-pair').first();
    expect(await pair.locator('h4 a').evaluateAll((as) => as.map((x) => x.getAttribute('href')))).toContain(
      `/sources/${await pair.getAttribute('data-component-source')}`,
    );
    const link = page.locator('section.metric[data-metric="killed"] li[data-source="kr-nis"] a.who');
    expect(await link.getAttribute('href')).toBe('/sources/kr-nis');
    await link.click();
    await page.waitForURL('**/sources/kr-nis');
    await page.waitForSelector('body[data-ready="true"] main h1');
    const api = (await product.get('/v1/sources/kr-nis?includeRetracted=true')).body as {
      source: { name: string };
      metrics: { topic: string; metric: string; points: unknown[] }[];
      record: {
        metrics: {
          topic: string;
          metric: string;
          steps: { change: number; days: number }[];
          checks: { checks: unknown[] };
        }[];
      };
    };
    expect(await page.locator('main h1').textContent()).toBe(api.source.name);
    // Every series with as many rows as the API's points.
    const series = await page
      .locator('section.source-series')
      .evaluateAll((els) => els.map((e) => [(e as HTMLElement).dataset.metric, e.querySelectorAll('tbody tr').length]));
    expect(series).toEqual(api.metrics.map((m) => [m.metric, m.points.length]));
    // Each series' table has every CSV column but the topic and metric (the heading's), and a
    // Download CSV of this source's claims of that topic and metric.
    const first = page.locator('section.source-series').first();
    expect(
      await first.locator('thead th').evaluateAll((ths) => ths.map((t) => (t as HTMLElement).dataset.column)),
    ).toEqual([...HISTORY_CSV_COLUMNS.slice(2), 'via']);
    const csv = new URL((await first.locator('a.download-csv').getAttribute('href'))!, product.queryUrl);
    expect(csv.pathname).toBe(`/v1/topics/${api.metrics[0]!.topic}/metrics/${api.metrics[0]!.metric}/history.csv`);
    expect([csv.searchParams.get('source'), csv.searchParams.get('includeRetracted')]).toEqual(['kr-nis', 'true']);
    const rows = (await product.get(`${csv.pathname}${csv.search}`)).body as string;
    expect(rows.trim().split('\r\n')).toHaveLength(1 + api.metrics[0]!.points.length);
    // Its revisions of killed, each step's change and days as the API gives them.
    const killed = api.record.metrics.find((m) => m.topic === TOPIC && m.metric === 'killed')!;
    expect(killed.steps.length).toBeGreaterThan(0);
    const steps = await page
      .locator(`section.source-record[data-metric="killed"] ol.steps li`)
      .evaluateAll((els) =>
        els.map((e) => [Number((e as HTMLElement).dataset.change), Number((e as HTMLElement).dataset.days)]),
      );
    expect(steps).toEqual(killed.steps.map((x) => [x.change, x.days]));
    const checks = api.record.metrics.reduce((n, m) => n + m.checks.checks.length, 0);
    expect(await page.locator('section.source-record li.check').count()).toBe(checks);
    expect(await page.locator('section.source-record li.check a[href^="/sources/"]').count()).toBe(2 * checks);
    await page.screenshot({ path: shot('source'), fullPage: true });
    expect(consoleErrors.get(page)).toEqual([]);
    await page.close();

    const unknown = await openPage('/sources/nobody');
    expect(await unknown.locator('main').textContent()).toContain('source nobody is unknown');
    await unknown.close();
  });
});

/** What a chart drew: each mark with its place in time and on the plot, and the axes' labels. */
interface Mark {
  claimId: string;
  source: string;
  colour: string;
  t: number;
  t0: number;
  t1: number;
  x: number;
  y: number;
  x0: number;
  x1: number;
  drawn: string;
  plot: { left: number; top: number };
}
interface Axes {
  x: { labels: string[]; at: number[]; font: string; width: number };
  y: { labels: string[]; size: number; font: string };
}
type Chart = HTMLElement & { chartMarks: Mark[]; chartAxes: Axes };

const chartOf = (page: Page, metric: string) =>
  page.locator(`section.metric[data-metric="${metric}"] .chart-wrap`).evaluate((el) => {
    const c = el as Chart;
    return { marks: c.chartMarks, axes: c.chartAxes, incremental: c.dataset.incremental };
  });

/** Every date label of a chart's time axis lies whole inside the chart, at the axis font. */
async function expectDatesWhole(page: Page, metric: string) {
  const { axes } = await chartOf(page, metric);
  expect(axes.x.labels.length).toBeGreaterThan(0);
  const widths = await page.evaluate(
    ({ labels, font }) => {
      const ctx = document.createElement('canvas').getContext('2d')!;
      ctx.font = font;
      return labels.map((l) => ctx.measureText(l).width);
    },
    { labels: axes.x.labels, font: axes.x.font },
  );
  axes.x.at.forEach((centre, i) => {
    expect(centre - widths[i]! / 2, `${metric} ${axes.x.labels[i]}`).toBeGreaterThanOrEqual(0);
    expect(centre + widths[i]! / 2, `${metric} ${axes.x.labels[i]}`).toBeLessThanOrEqual(axes.x.width);
  });
}

/** The colour a reader sees at a point of a chart's plot (CSS pixels), as [r, g, b]. */
const pixel = (page: Page, metric: string, plot: { left: number; top: number }, x: number, y: number) =>
  page.locator(`section.metric[data-metric="${metric}"] .chart-wrap canvas`).evaluate(
    (canvas, at) => {
      const c = canvas as HTMLCanvasElement;
      const ratio = c.width / c.getBoundingClientRect().width;
      const d = c
        .getContext('2d')!
        .getImageData(Math.round((at.plot.left + at.x) * ratio), Math.round((at.plot.top + at.y) * ratio), 1, 1).data;
      // The canvas is transparent where nothing is drawn: composed over the page's white, as a reader sees it.
      const a = d[3]! / 255;
      return [0, 1, 2].map((i) => Math.round(d[i]! * a + 255 * (1 - a)));
    },
    { plot, x, y },
  );

const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
/** Whether a pixel is (close to) a colour. */
const near = (a: number[], b: number[], tolerance = 40) => a.every((v, i) => Math.abs(v - b[i]!) <= tolerance);
const WHITE = [255, 255, 255];
const utc = (iso: string) => Date.parse(iso) / 1000;

/** RFC 4180 rows of a CSV text (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (ch !== '\r') field += ch;
  }
  return rows;
}

describe('the charts read estimates right', () => {
  const RT = 'reading-test';
  const claims: Record<string, string> = {};

  beforeAll(async () => {
    for (const [metric, aggregation] of [
      ['deployed_rt', 'stock'],
      ['reinforcements_rt', 'incremental'],
      ['killed_rt', 'cumulative'],
      ['wounded_rt', 'cumulative'],
    ] as const) {
      const r = await product.post('/v1/metrics', { metric, label: metric, unit: 'persons', aggregation });
      expect(r.status).toBe(202);
    }
    const c = (name: string, claim: Record<string, unknown>) => ({ name, claim: { topic: RT, ...claim } });
    const all = [
      // A study stated in 2025 about the first half of 2024: at the end of June 2024, not in 2025.
      c('study', {
        metric: 'deployed_rt',
        value: { kind: 'exact', value: 5000 },
        source: { id: 'rt-study', name: 'A study' },
        statedAt: '2025-01',
        validFrom: '2024-01',
        validTo: '2024-06',
      }),
      c('range', {
        metric: 'deployed_rt',
        value: { kind: 'range', low: 4000, high: 6000 },
        source: { id: 'rt-ranger', name: 'A ranger' },
        statedAt: '2024-08',
      }),
      c('atMost', {
        metric: 'deployed_rt',
        value: { kind: 'at_most', value: 7000 },
        source: { id: 'rt-ceiling', name: 'A ceiling' },
        statedAt: '2024-08',
      }),
      c('octNov', {
        metric: 'reinforcements_rt',
        value: { kind: 'exact', value: 1000 },
        source: { id: 'rt-study', name: 'A study' },
        statedAt: '2024-12-05',
        validFrom: '2024-10',
        validTo: '2024-11',
      }),
      c('dec', {
        metric: 'reinforcements_rt',
        value: { kind: 'approx', value: 1500 },
        source: { id: 'rt-ranger' },
        statedAt: '2025-01-03',
        validFrom: '2024-12',
        validTo: '2024-12',
      }),
      c('bareRange', {
        metric: 'killed_rt',
        value: { kind: 'range', low: 10000, high: 12000 },
        source: { id: 'rt-ranger' },
        statedAt: '2025-01',
      }),
      c('newer', {
        metric: 'killed_rt',
        value: { kind: 'exact', value: 15000 },
        source: { id: 'rt-ranger' },
        statedAt: '2025-03',
        via: [{ id: 'un-ocha', role: 'relay', name: 'UN Office for the Coordination of Humanitarian Affairs' }],
        confidence: 'moderate',
        likelihood: 'likely',
        note: 'excludes militia',
        quote: 'about "15,000", officials said',
      }),
      c('twinA', {
        metric: 'killed_rt',
        value: { kind: 'exact', value: 13000 },
        source: { id: 'rt-twin-a', name: 'Twin A' },
        statedAt: '2025-02',
      }),
      c('twinB', {
        metric: 'killed_rt',
        value: { kind: 'exact', value: 13000 },
        source: { id: 'rt-twin-b', name: 'Twin B' },
        statedAt: '2025-02',
      }),
      c('million', {
        metric: 'wounded_rt',
        value: { kind: 'exact', value: 1000000 },
        source: { id: 'rt-big', name: 'Big counter' },
        statedAt: '2024-03-13',
      }),
      c('million2', {
        metric: 'wounded_rt',
        value: { kind: 'approx', value: 1200000 },
        source: { id: 'rt-big' },
        statedAt: '2024-03-20',
      }),
      c('hidden', {
        metric: 'wounded_rt',
        value: { kind: 'exact', value: 900000 },
        source: { id: 'rt-hidden', name: 'Hidden only' },
        statedAt: '2024-03-15',
      }),
    ];
    const posted = await report(
      all.map((x) => x.claim),
      'https://example.org/reading',
    );
    all.forEach((x, i) => (claims[x.name] = posted.claims[i]!.claimId));
    const retracted = await product.post(`/v1/claims/${claims.hidden}/retractions`, {
      reason: 'misattributed',
      by: 'editor',
    });
    expect(retracted.status).toBe(202);
    await product.get(`/v1/topics?minSeq=${(retracted.body as { seq: number }).seq}`);
  });

  it('puts levels at the end of the period they describe and incremental figures as bars across theirs', async () => {
    const page = await openPage(`/topics/${RT}`);
    const levels = await chartOf(page, 'deployed_rt');
    expect(levels.incremental).toBe('false');
    const study = levels.marks.find((m) => m.claimId === claims.study)!;
    const range = levels.marks.find((m) => m.claimId === claims.range)!;
    // At the end of June 2024 (stated in 2025), left of a figure for August 2024.
    expect(study.t).toBe(utc('2024-07-01T00:00:00Z'));
    expect(range.t).toBe(utc('2024-09-01T00:00:00Z'));
    expect(study.x).toBeLessThan(range.x);
    // And drawn there: the exact figure's filled marker in its source's colour.
    expect(near(await pixel(page, 'deployed_rt', study.plot, study.x, study.y), rgb(study.colour))).toBe(true);

    const inc = await chartOf(page, 'reinforcements_rt');
    expect(inc.incremental).toBe('true');
    const octNov = inc.marks.find((m) => m.claimId === claims.octNov)!;
    expect([octNov.t0, octNov.t1]).toEqual([utc('2024-10-01T00:00:00Z'), utc('2024-12-01T00:00:00Z')]);
    const dec = inc.marks.find((m) => m.claimId === claims.dec)!;
    expect([dec.t0, dec.t1]).toEqual([utc('2024-12-01T00:00:00Z'), utc('2025-01-01T00:00:00Z')]);
    // The bar fills its period: tinted near both ends, blank just outside it.
    const bottom = (y: number) => y + 10;
    for (const x of [octNov.x0 + 3, octNov.x1 - 3])
      expect(near(await pixel(page, 'reinforcements_rt', octNov.plot, x, bottom(octNov.y)), WHITE, 3)).toBe(false);
    expect(await pixel(page, 'reinforcements_rt', octNov.plot, octNov.x0 - 4, bottom(octNov.y))).toEqual(WHITE);
    // No level line joins two periods: between the bars' tops, above the lower bar, nothing is drawn.
    const between = octNov.y + ((1130 - 1000) / (1500 - 1000)) * (dec.y - octNov.y);
    expect(await pixel(page, 'reinforcements_rt', octNov.plot, octNov.x1 - 3, between)).toEqual(WHITE);
    // No envelope across periods, and no envelope sentence beside an incremental metric.
    expect(await page.locator('section.metric[data-metric="reinforcements_rt"] .envelope').count()).toBe(0);
    await page.locator('section.metric[data-metric="deployed_rt"]').screenshot({ path: shot('estimates-levels') });
    await page
      .locator('section.metric[data-metric="reinforcements_rt"]')
      .screenshot({ path: shot('estimates-incremental') });
    expect(consoleErrors.get(page)).toEqual([]);
    await page.close();
  });

  it('draws a range without a best as a bar with no marker, and computes changes only between stated centres', async () => {
    const page = await openPage(`/topics/${RT}`);
    const levels = await chartOf(page, 'deployed_rt');
    const range = levels.marks.find((m) => m.claimId === claims.range)!;
    expect(range.drawn).toBe('bar');
    const colour = rgb(range.colour);
    // The bar itself, and no ring of a marker either side of it at its middle.
    const across = await Promise.all(
      [-1, 0, 1].map((dx) => pixel(page, 'deployed_rt', range.plot, range.x + dx, range.y)),
    );
    expect(across.some((px) => near(px, colour))).toBe(true);
    for (const dx of [-4, 4])
      expect(near(await pixel(page, 'deployed_rt', range.plot, range.x + dx, range.y), colour)).toBe(false);
    // The ranger's latest (15,000) follows a bare range: no change is made up from its midpoint.
    const latest = page.locator('section.metric[data-metric="killed_rt"] li[data-source="rt-ranger"]');
    expect(await latest.locator('.figure').textContent()).toBe('15,000');
    expect(await latest.locator('.change').textContent()).toBe(' · was 10,000–12,000 (2025-01)');
    expect(await latest.textContent()).not.toMatch(/▲|▼/);
    await page.locator('section.metric[data-metric="killed_rt"]').screenshot({ path: shot('estimates-ranges') });
    await page.close();
  });

  it('draws the envelope without counting missing bounds as 0', async () => {
    const page = await openPage(`/topics/${RT}`);
    const levels = await chartOf(page, 'deployed_rt');
    const range = levels.marks.find((m) => m.claimId === claims.range)!;
    // 4,000–6,000, at most 7,000 and 5,000: the envelope is 4,000 – 7,000, not 0 – 7,000.
    expect(await page.locator('section.metric[data-metric="deployed_rt"] .envelope').textContent()).toBe(
      'Envelope across 3 sources: 4,000 – 7,000 (open bounds not counted)',
    );
    // On the chart: grey inside the band, blank below its floor where the at_most would have taken it to 0.
    // The at_most's mark sits at 7,000, the range's at its middle, 5,000: the plot's scale.
    const yHigh = levels.marks.find((m) => m.claimId === claims.atMost)!.y;
    const scale = (range.y - yHigh) / 2000;
    const at = (v: number) => yHigh + (7000 - v) * scale;
    const x = range.x + 30;
    const inside = await pixel(page, 'deployed_rt', range.plot, x, at(6300));
    expect(near(inside, WHITE, 3)).toBe(false);
    expect(near(inside, [237, 237, 237], 12)).toBe(true);
    expect(await pixel(page, 'deployed_rt', range.plot, x, at(2300))).toEqual(WHITE);
    await page.close();
  });

  it('labels axes unclipped with compact numbers and day-month-year dates, a legend of what is drawn, twin points both visible, relays by name', async () => {
    const page = await openPage(`/topics/${RT}`);
    const big = await chartOf(page, 'wounded_rt');
    expect(big.axes.y.labels.some((l) => /^1(\.\d+)?M$/.test(l))).toBe(true);
    expect(big.axes.y.labels.every((l) => !l.includes(',000,'))).toBe(true);
    // Each label fits the axis: its width at the axis font, plus the tick and the gap.
    const widths = await page.evaluate(
      ({ labels, font }) => {
        const ctx = document.createElement('canvas').getContext('2d')!;
        ctx.font = font;
        return labels.map((l) => ctx.measureText(l).width);
      },
      { labels: big.axes.y.labels, font: big.axes.y.font },
    );
    for (const w of widths) expect(w + 15).toBeLessThanOrEqual(big.axes.y.size);
    // And every date label lies whole inside the chart, the last one too.
    for (const metric of ['deployed_rt', 'reinforcements_rt', 'killed_rt', 'wounded_rt'])
      await expectDatesWhole(page, metric);
    // A week of figures: days as "13 Mar 2024", never "3/13".
    for (const chart of [big, await chartOf(page, 'deployed_rt')]) {
      expect(chart.axes.x.labels.length).toBeGreaterThan(0);
      for (const l of chart.axes.x.labels) expect(l).toMatch(/^(\d{1,2} )?[A-Z][a-z]{2} \d{4}$|^\d{4}$/);
    }
    expect(big.axes.x.labels.some((l) => /^\d{1,2} Mar 2024$/.test(l))).toBe(true);
    // The legend names only the sources drawn: the retracted-only one joins it when retracted claims show.
    const legend = (p: Page) =>
      p
        .locator('section.metric[data-metric="wounded_rt"] .u-legend .u-series .u-label')
        .evaluateAll((els) => els.map((e) => e.textContent));
    expect(await legend(page)).toEqual(['Big counter']);
    // Two sources with the same figure on the same day: both markers visible, side by side.
    const killed = await chartOf(page, 'killed_rt');
    const a = killed.marks.find((m) => m.claimId === claims.twinA)!;
    const b = killed.marks.find((m) => m.claimId === claims.twinB)!;
    expect(a.t).toBe(b.t);
    expect(Math.abs(a.x - b.x)).toBeGreaterThanOrEqual(8);
    expect(near(await pixel(page, 'killed_rt', a.plot, a.x, a.y), rgb(a.colour))).toBe(true);
    expect(near(await pixel(page, 'killed_rt', b.plot, b.x, b.y), rgb(b.colour))).toBe(true);
    // A relay by its name.
    const row = page.locator(`section.metric[data-metric="killed_rt"] tr[data-claim="${claims.newer}"]`);
    expect(await row.locator('td[data-column="via"]').textContent()).toBe(
      'UN Office for the Coordination of Humanitarian Affairs (relay)',
    );
    await page.locator('section.metric[data-metric="wounded_rt"]').screenshot({ path: shot('estimates-axes') });
    await page.close();

    const shown = await openPage(`/topics/${RT}?retracted=1`);
    expect(await legend(shown)).toEqual(['Big counter', 'Hidden only']);
    await shown.close();
  });

  it("tells a claim's correction as before → after and links the claim that superseded one", async () => {
    const corrected = await product.post(`/v1/claims/${claims.twinB}/corrections`, {
      changes: { value: { kind: 'exact', value: 13500 } },
      reason: 'misread',
    });
    expect(corrected.status).toBe(202);
    await product.get(`/v1/topics?minSeq=${(corrected.body as { seq: number }).seq}`);
    const page = await openPage(`/claims/${claims.twinB}`);
    expect(await page.locator('ol.story li[data-type="ClaimCorrected"] .changes').textContent()).toBe(
      'value: 13,000 → 13,500',
    );
    const api = await product.get(`/v1/claims/${claims.bareRange}`);
    expect(api.body.claim.supersededBy).toBe(claims.newer);
    await page.goto(`${product.queryUrl}/claims/${claims.bareRange}`);
    await page.waitForSelector('body[data-ready="true"] a.superseded-by');
    const link = page.locator('a.superseded-by');
    expect(await link.getAttribute('href')).toBe(`/claims/${claims.newer}`);
    await page.screenshot({ path: shot('estimates-superseded'), fullPage: true });
    await link.click();
    await page.waitForURL(`**/claims/${claims.newer}`);
    await page.waitForSelector('body[data-ready="true"] main h1');
    expect(await page.locator('main h1').textContent()).toContain('15,000');
    await page.close();
  });

  it('tables every CSV column, and its "Download CSV" link answers the same rows with the page\'s filters', async () => {
    const page = await openPage(`/topics/${RT}?retracted=1`);
    const section = page.locator('section.metric[data-metric="killed_rt"]');
    const link = section.locator('a.download-csv');
    expect(await link.textContent()).toBe('Download CSV');
    const href = (await link.getAttribute('href'))!;
    expect(href).toBe(`/v1/topics/${RT}/metrics/killed_rt/history.csv?includeRetracted=true`);
    const res = await fetch(`${product.queryUrl}${href}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const [header, ...rows] = parseCsv(await res.text());
    const columns = await section
      .locator('table.points thead th')
      .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.column!));
    // Every CSV column but the topic and metric (the section's), then the attribution chain.
    expect(columns).toEqual([...header!.filter((c) => c !== 'topic' && c !== 'metric'), 'via']);
    const table = await section.locator('table.points tbody tr').evaluateAll((trs) =>
      trs.map((tr) =>
        Object.fromEntries(
          Array.from(tr.querySelectorAll('td')).map((td) => [
            td.dataset.column!,
            td.dataset.column === 'report_urls'
              ? Array.from(td.querySelectorAll('[data-url]'))
                  .map((e) => (e as HTMLElement).dataset.url)
                  .join(' ')
              : td.textContent,
          ]),
        ),
      ),
    );
    expect(table.length).toBe(rows.length);
    const csv = rows.map((r) => Object.fromEntries(header!.map((c, i) => [c, r[i]!])));
    const shownAs = (column: string, v: string) =>
      column === 'corrected'
        ? v === 'true'
          ? 'corrected'
          : ''
        : ['low', 'best', 'high'].includes(column) && v !== ''
          ? Number(v).toLocaleString('en')
          : v;
    for (const row of csv) {
      const shown = table.find((t) => t.claim_id === row.claim_id)!;
      expect(shown, row.claim_id).toBeDefined();
      for (const column of header!) {
        if (column === 'topic' || column === 'metric' || column === 'value') continue;
        expect(shown[column], `${row.claim_id} ${column}`).toBe(shownAs(column, row[column]!));
      }
    }
    const newer = table.find((t) => t.claim_id === claims.newer)!;
    expect([newer.confidence, newer.likelihood, newer.note]).toEqual(['moderate', 'likely', 'excludes militia']);
    expect(table.find((t) => t.claim_id === claims.bareRange)!.superseded_by).toBe(claims.newer);
    await section.locator('details.data summary').click();
    await section.screenshot({ path: shot('estimates-table') });
    await page.close();

    // The link follows the view's instant.
    const knownAt = new Date().toISOString();
    const past = await openPage(`/topics/${RT}?knownAt=${encodeURIComponent(knownAt)}`);
    expect(await past.locator('section.metric[data-metric="killed_rt"] a.download-csv').getAttribute('href')).toBe(
      `/v1/topics/${RT}/metrics/killed_rt/history.csv?knownAt=${encodeURIComponent(knownAt)}`,
    );
    await past.close();
  });
});

describe('the "published by" axis', () => {
  it("steps through the reports' publication dates by default, keeps both axes in the URL, and reads with them", async () => {
    const topic = 'published-test';
    const post = async (publishedAt: string, value: number, statedAt: string) => {
      const r = await product.post('/v1/reports', {
        report: { url: `https://example.org/published/${publishedAt}`, publisher: 'Test Wire', publishedAt },
        claims: [
          {
            topic,
            metric: 'killed',
            value: { kind: 'exact', value },
            source: { id: 'pub-ministry', name: 'Pub ministry' },
            statedAt,
          },
        ],
      });
      expect(r.status).toBe(202);
      return r.body as { lastSeq: number };
    };
    // Back-filled: the later publication recorded first.
    await post('2025-02', 300, '2025-02');
    const last = await post('2024-11-13', 100, '2024-11-13');
    await product.get(`/v1/topics?minSeq=${last.lastSeq}`);
    const timeline = (await product.get(`/v1/topics/${topic}/timeline`)).body as {
      published: { publishedAt: string; to: string; reports: number }[];
    };
    expect(timeline.published.map((p) => p.publishedAt)).toEqual(['2024-11-13', '2025-02']);

    const page = await openPage(`/topics/${topic}`);
    const figure = page.locator('section.metric[data-metric="killed"] li[data-source="pub-ministry"] .figure');
    expect(await figure.textContent()).toBe('300');
    // The default axis: "published by", at its end (everything published).
    expect(await page.locator('#axis-published').isChecked()).toBe(true);
    expect(await page.locator('#known-on').count()).toBe(0);
    const slider = page.locator('#published-by');
    expect(await slider.getAttribute('max')).toBe(String(timeline.published.length));
    expect(await page.locator('#published-by-value').textContent()).toBe('now (everything published)');
    await slider.focus();
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => new URL(location.href).searchParams.get('publishedBy') === '2024-11-13');
    await page.waitForFunction(
      () =>
        document.querySelector('section.metric[data-metric="killed"] li[data-source="pub-ministry"] .figure')
          ?.textContent === '100',
    );
    expect(await page.locator('#published-by-value').textContent()).toBe('13 Nov 2024 (1 report)');
    await expectDatesWhole(page, 'killed');
    // What the page shows is what the API answers as the record stood then.
    const api = (await product.get(`/v1/topics/${topic}/summary?publishedBy=2024-11-13`)).body as {
      metrics: { metric: string; latest: { source: { id: string }; best: number }[] }[];
    };
    expect(api.metrics.find((m) => m.metric === 'killed')!.latest.map((l) => [l.source.id, l.best])).toEqual([
      ['pub-ministry', 100],
    ]);
    expect(await page.locator('section.metric[data-metric="killed"] table.points tbody tr').count()).toBe(1);
    expect(await page.locator('.as-of').textContent()).toContain('published by 13 Nov 2024');
    expect(await page.locator('section.metric[data-metric="killed"] a.download-csv').getAttribute('href')).toBe(
      `/v1/topics/${topic}/metrics/killed/history.csv?publishedBy=2024-11-13`,
    );
    await page.screenshot({ path: shot('published-by'), fullPage: true });

    // The other axis: its own slider; the published date stays in the URL and in every read.
    await page.locator('#axis-recorded').check();
    await page.waitForSelector('#known-on');
    const url = new URL(page.url());
    expect([url.searchParams.get('axis'), url.searchParams.get('publishedBy')]).toEqual(['recorded', '2024-11-13']);
    expect(await figure.textContent()).toBe('100');
    // A source's link carries the view's date too.
    expect(await page.locator('li[data-source="pub-ministry"] a.who').getAttribute('href')).toBe(
      '/sources/pub-ministry?publishedBy=2024-11-13',
    );
    await page.close();
    // The source's page says which date it is read at.
    const sourcePage = await openPage('/sources/pub-ministry?publishedBy=2024-11-13');
    expect(await sourcePage.locator('p.as-of').textContent()).toMatch(/, published by 13 Nov 2024\.$/);
    await sourcePage.close();

    // Opening the URL again shows the same view, on the same axis.
    const again = await openPage(`${url.pathname}${url.search}`);
    expect(await again.locator('#axis-recorded').isChecked()).toBe(true);
    expect(
      await again.locator('section.metric[data-metric="killed"] li[data-source="pub-ministry"] .figure').textContent(),
    ).toBe('100');
    await again.locator('#axis-published').check();
    await again.waitForSelector('#published-by');
    expect(await again.locator('#published-by').inputValue()).toBe('0');
    await again.close();
  });
});

describe('the web page of a claimtrail that requires a read token', () => {
  let guarded: Product;
  beforeAll(async () => {
    guarded = await startProduct('pagetoken', { demo: true, env: { CLAIMTRAIL_REQUIRE_READ_TOKEN: '1' } });
  });
  afterAll(async () => {
    await guarded?.stop();
  });

  it('asks for a token, refuses a wrong one, then shows the data and its live updates', async () => {
    expect((await guarded.get(`/v1/topics/${TOPIC}/summary`)).status).toBe(401);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (err) => {
      throw err;
    });
    await page.goto(`${guarded.queryUrl}/topics/${TOPIC}`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.waitForSelector('form.token');
    expect(await page.locator('section.metric').count()).toBe(0);
    await page.waitForFunction(() => document.getElementById('live')?.textContent === 'Live updates need a read token');

    await page.fill('#token', 'ct_not_a_token_of_this_claimtrail_at_all');
    await page.click('form.token button');
    await page.waitForSelector('#token-why:has-text("The token was refused")');
    expect(await page.locator('section.metric').count()).toBe(0);

    await page.fill('#token', guarded.token);
    await page.click('form.token button');
    await page.waitForSelector('section.metric[data-metric="killed"]');
    expect(await page.locator('section.metric').count()).toBe(5);
    await page.waitForFunction(() => document.getElementById('live')?.textContent?.startsWith('Live ·'));

    const r = await guarded.post('/v1/reports', {
      report: { url: 'https://example.org/guarded', publisher: 'Test Wire', publishedAt: '2025-03-01' },
      claims: [
        { topic: TOPIC, metric: 'killed', value: { kind: 'exact', value: 700 }, source: { id: 'guarded-agency' } },
      ],
    });
    expect(r.status).toBe(202);
    await page.waitForSelector('section.metric[data-metric="killed"] li[data-source="guarded-agency"]', {
      timeout: 10_000,
    });
    await page.screenshot({ path: shot('token'), fullPage: true });
    await page.close();
  });
});
