// The HTTP load generator, run as a child process of its own so that it never shares an event
// loop with the product or the bench. One JSON argument says what to do; the last stdout line is
// a JSON LoadResult. Modes:
//   ingest: `clients` closed-loop clients POST unique reports of `claims` claims for `durationMs`
//           (after `warmupMs` whose requests are not counted);
//   fresh:  an open-loop offered load of `eventsPerSec` (reports of `claims` claims) for
//           `durationMs`; after each 202 a GET of the report's last claim with `minSeq` = the
//           answer's lastSeq, timing 202 → visible;
//   get:    `clients` closed-loop clients GET `paths` (round robin) `requests` times in all.
import http from 'node:http';

interface Spec {
  mode: 'ingest' | 'fresh' | 'get';
  url: string;
  queryUrl?: string;
  token?: string;
  clients?: number;
  durationMs?: number;
  warmupMs?: number;
  claims?: number;
  eventsPerSec?: number;
  tag?: string;
  paths?: string[];
  requests?: number;
  warmupRequests?: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as Spec;
const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(1, spec.clients ?? 64) });

interface Answer {
  status: number;
  body: string;
}

function request(
  method: 'GET' | 'POST',
  url: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent,
        headers:
          body === undefined
            ? headers
            : { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const now = () => performance.now();
let counter = 0;

/**
 * Added to every claim's value, so that two loads with different tags (the reps of a group, on
 * one stream) never post the same claim: a claim's id derives from its topic, metric, source,
 * statedAt and value, and a claim posted again is an echo (a failed publish and a ClaimCited),
 * which is not what the ingest and freshness figures measure. Until the fifth session every rep
 * after the first repeated the first one's claims, and measured echoes.
 */
const valueBase = (() => {
  let h = 0;
  for (const c of spec.tag ?? 'load') h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
  return (h % 1_000_000) * 1_000_000_000;
})();

/** A report body no other request of this run repeats, with claims no other load repeats. */
function reportBody(claims: number): { body: string; events: number } {
  const n = counter++;
  const tag = spec.tag ?? 'load';
  const list = [];
  for (let i = 0; i < claims; i++) {
    list.push({
      topic: `topic-${(n * claims + i) % 50}`,
      metric: 'killed',
      value: { kind: 'approx', value: valueBase + n * 1000 + i },
      unit: 'persons',
      source: { id: `source-${(n * 7 + i) % 200}` },
      statedAt: '2025-03-04',
      quote: `about ${valueBase + n * 1000 + i} people were killed, officials said`,
    });
  }
  const body = JSON.stringify({
    report: { url: `https://bench.example.org/${tag}/${n}`, publisher: 'bench wire', publishedAt: '2025-03-04' },
    claims: list,
  });
  // ReportSubmitted plus one ClaimRecorded per claim (no source details, so no SourceRegistered).
  return { body, events: 1 + claims };
}

/** How many claims of a 202 answer were echoes (claims the stream already held). */
function echoesIn(answer: { claims: { echo: boolean }[] }): number {
  return answer.claims.filter((c) => c.echo).length;
}

async function ingest(): Promise<void> {
  const clients = spec.clients ?? 64;
  const claims = spec.claims ?? 10;
  const headers = { authorization: `Bearer ${spec.token}` };
  const url = `${spec.url}/v1/reports`;
  const t0 = now();
  const warmEnd = t0 + (spec.warmupMs ?? 0);
  const end = warmEnd + (spec.durationMs ?? 5000);
  let requests = 0;
  let ok = 0;
  let errors = 0;
  let events = 0;
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let measuredStart = 0;
  let measuredEnd = 0;
  let echoes = 0;
  const client = async () => {
    for (;;) {
      const start = now();
      if (start >= end) return;
      const { body, events: ev } = reportBody(claims);
      let a: Answer;
      try {
        a = await request('POST', url, body, headers);
      } catch (err) {
        a = { status: 0, body: String(err) };
      }
      const done = now();
      if (start < warmEnd) continue;
      if (measuredStart === 0) measuredStart = start;
      measuredEnd = Math.max(measuredEnd, done);
      requests++;
      if (a.status === 202) {
        ok++;
        events += ev;
        latencies.push(done - start);
        echoes += echoesIn(JSON.parse(a.body) as { claims: { echo: boolean }[] });
      } else {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(`${a.status} ${a.body.slice(0, 200)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const seconds = (measuredEnd - Math.max(warmEnd, measuredStart || warmEnd)) / 1000;
  print({ requests, ok, errors, errorSamples, events, echoes, seconds, latenciesMs: latencies });
}

async function fresh(): Promise<void> {
  const claims = spec.claims ?? 10;
  const eventsPerReport = 1 + claims;
  const intervalMs = (1000 * eventsPerReport) / (spec.eventsPerSec ?? 1000);
  const headers = { authorization: `Bearer ${spec.token}` };
  const t0 = now();
  const warmEnd = t0 + (spec.warmupMs ?? 0);
  const end = warmEnd + (spec.durationMs ?? 5000);
  const visible: number[] = [];
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let requests = 0;
  let ok = 0;
  let errors = 0;
  let events = 0;
  let echoes = 0;
  const inFlight = new Set<Promise<void>>();
  const one = async (measured: boolean) => {
    const { body, events: ev } = reportBody(claims);
    const start = now();
    try {
      const a = await request('POST', `${spec.url}/v1/reports`, body, headers);
      const accepted = now();
      if (a.status !== 202) throw new Error(`POST ${a.status} ${a.body.slice(0, 200)}`);
      const r = JSON.parse(a.body) as { lastSeq: number; claims: { claimId: string; echo: boolean }[] };
      if (measured) echoes += echoesIn(r);
      const claimId = r.claims[r.claims.length - 1]!.claimId;
      // As the contract tells a client: a 503 (not reached within 5 s) is asked again at once; the
      // time counts until the claim is visible. Only a saturated machine gets here.
      let g = await request('GET', `${spec.queryUrl}/v1/claims/${claimId}?minSeq=${r.lastSeq}`);
      for (let again = 0; g.status === 503 && again < 5; again++)
        g = await request('GET', `${spec.queryUrl}/v1/claims/${claimId}?minSeq=${r.lastSeq}`);
      const seen = now();
      if (g.status !== 200) throw new Error(`GET ${g.status} ${g.body.slice(0, 200)}`);
      if (measured) {
        requests++;
        ok++;
        events += ev;
        latencies.push(accepted - start);
        visible.push(seen - accepted);
      }
    } catch (err) {
      if (measured) {
        requests++;
        errors++;
        if (errorSamples.length < 5) errorSamples.push(String(err));
      }
    }
  };
  // Open loop: the k-th report is sent at t0 + k × interval whatever the answers do.
  for (let k = 0; ; k++) {
    const at = t0 + k * intervalMs;
    if (at >= end) break;
    const wait = at - now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const p = one(at >= warmEnd);
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }
  await Promise.all([...inFlight]);
  print({
    requests,
    ok,
    errors,
    errorSamples,
    events,
    echoes,
    seconds: (end - warmEnd) / 1000,
    latenciesMs: latencies,
    visibleMs: visible,
  });
}

async function get(): Promise<void> {
  const clients = spec.clients ?? 1;
  const paths = spec.paths ?? ['/'];
  const total = spec.requests ?? 20;
  const warm = spec.warmupRequests ?? 0;
  let next = 0;
  let requests = 0;
  let ok = 0;
  let errors = 0;
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let rows = 0;
  const t0 = now();
  let tMeasured = t0;
  const client = async () => {
    for (;;) {
      const i = next++;
      if (i >= warm + total) return;
      if (i === warm) tMeasured = now();
      const start = now();
      let a: Answer;
      try {
        a = await request('GET', `${spec.url}${paths[i % paths.length]}`);
      } catch (err) {
        a = { status: 0, body: String(err) };
      }
      const done = now();
      if (i < warm) continue;
      requests++;
      if (a.status === 200) {
        ok++;
        latencies.push(done - start);
        if (rows === 0) {
          const b = JSON.parse(a.body) as { series?: { points: unknown[] }[] };
          rows = (b.series ?? []).reduce((s, x) => s + x.points.length, 0);
        }
      } else {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(`${a.status} ${a.body.slice(0, 200)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  print({
    requests,
    ok,
    errors,
    errorSamples,
    events: ok,
    seconds: (now() - tMeasured) / 1000,
    latenciesMs: latencies,
    rows,
  });
}

/** The result line; the process exits once it is flushed (a large line to a pipe is written asynchronously). */
function print(r: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(r)}\n`, () => process.exit(0));
}

const run = spec.mode === 'ingest' ? ingest : spec.mode === 'fresh' ? fresh : get;
run().then(
  () => agent.destroy(),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
