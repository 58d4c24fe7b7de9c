// The HTTP load generator, run as a child process of its own so that it never shares an event
// loop with the product or the bench. One JSON argument says what to do; the last stdout line is
// a JSON LoadResult. Modes:
//   ingest: `clients` closed-loop clients POST unique reports of `claims` claims for `durationMs`
//           (after `warmupMs` whose requests are not counted);
//   fresh:  an open-loop offered load of `eventsPerSec` (reports of `claims` claims) for
//           `durationMs`; after each 202 a GET of the report's last claim with `minSeq` = the
//           answer's lastSeq, timing 202 → visible;
//   get:    `clients` closed-loop clients GET `paths` (round robin) `requests` times in all;
//   flood:  `clients` closed-loop clients GET `paths` (round robin) without a pause for
//           `durationMs`, whatever the answers say (a client that does not honour Retry-After);
//           answers counted by status;
//   probe:  one client GETs `paths[0]` every `intervalMs` (start to start; the next waits for the
//           answer) for `durationMs`: each request's start (epoch ms), latency and status.
import net from 'node:net';

interface Spec {
  mode: 'ingest' | 'fresh' | 'get' | 'flood' | 'probe';
  intervalMs?: number;
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

interface Answer {
  status: number;
  body: string;
}

/**
 * One keep-alive HTTP/1.1 connection over a raw socket, one request at a time. The load
 * generator shares the machine's cores with the product, so it spends as little CPU per request
 * as it can: it writes the request as one string and reads the status, the Content-Length (or
 * chunked) body and nothing else, where node:http's client (ClientRequest, IncomingMessage,
 * header objects, the agent's pool) cost about 50 µs of CPU per ingested event, a quarter of the
 * machine's work at the ingest goal's rate.
 */
class Connection {
  private socket: net.Socket | undefined;
  private buf: Buffer = Buffer.alloc(0);
  /** Chunks that arrived after `buf`, joined only once the answer can be complete (`need` bytes). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private need = 0;
  private waiting: { resolve: (a: Answer) => void; reject: (e: Error) => void } | undefined;
  private readonly host: string;
  private readonly port: number;

  constructor(origin: string) {
    const u = new URL(origin);
    this.host = u.hostname;
    this.port = Number(u.port || 80);
  }

  private connect(): net.Socket {
    const s = net.connect({ host: this.host, port: this.port, noDelay: true });
    s.on('data', (chunk: Buffer) => {
      // Joining every chunk to what came before copied a large answer quadratically (a 12 MB
      // history answer arrives in ~180 chunks: about 1 GB copied, in the timed region).
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.buf.length + this.pendingBytes < this.need) return;
      this.buf = Buffer.concat(this.buf.length === 0 ? this.pending : [this.buf, ...this.pending]);
      this.pending = [];
      this.pendingBytes = 0;
      this.parse();
    });
    const fail = (err: Error) => {
      if (this.socket !== s) return;
      this.socket = undefined;
      this.buf = Buffer.alloc(0);
      this.pending = [];
      this.pendingBytes = 0;
      this.need = 0;
      const w = this.waiting;
      this.waiting = undefined;
      w?.reject(err);
    };
    s.on('error', fail);
    s.on('close', () => fail(new Error('connection closed')));
    return s;
  }

  private parse(): void {
    const w = this.waiting;
    if (!w) return;
    const headEnd = this.buf.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = this.buf.toString('latin1', 0, headEnd);
    const status = Number(head.slice(9, 12));
    const lower = head.toLowerCase();
    const cl = /\r\ncontent-length: *(\d+)/.exec(lower);
    let body: string;
    let used: number;
    if (cl) {
      const len = Number(cl[1]);
      if (this.buf.length < headEnd + 4 + len) {
        this.need = headEnd + 4 + len;
        return;
      }
      body = this.buf.toString('utf8', headEnd + 4, headEnd + 4 + len);
      used = headEnd + 4 + len;
    } else if (lower.includes('\r\ntransfer-encoding: chunked')) {
      const parts: Buffer[] = [];
      let at = headEnd + 4;
      for (;;) {
        const eol = this.buf.indexOf('\r\n', at);
        if (eol < 0) return;
        const size = parseInt(this.buf.toString('latin1', at, eol), 16);
        if (this.buf.length < eol + 2 + size + 2) return;
        if (size === 0) {
          used = eol + 4;
          break;
        }
        parts.push(this.buf.subarray(eol + 2, eol + 2 + size));
        at = eol + 2 + size + 2;
      }
      body = Buffer.concat(parts).toString('utf8');
    } else {
      body = '';
      used = headEnd + 4;
    }
    this.buf = this.buf.length === used ? Buffer.alloc(0) : this.buf.subarray(used);
    this.need = 0;
    this.waiting = undefined;
    w.resolve({ status, body });
  }

  request(method: 'GET' | 'POST', path: string, body?: string, headers = ''): Promise<Answer> {
    this.socket ??= this.connect();
    const s = this.socket;
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      s.write(
        body === undefined
          ? `${method} ${path} HTTP/1.1\r\nhost: ${this.host}\r\n${headers}\r\n`
          : `${method} ${path} HTTP/1.1\r\nhost: ${this.host}\r\n${headers}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
  }

  close(): void {
    this.socket?.destroy();
  }
}

const connections: Connection[] = [];
function connection(origin: string): Connection {
  const c = new Connection(origin);
  connections.push(c);
  return c;
}

/** Requests on idle connections to one origin, opening another when every one is busy (open loop). */
function pool(
  origin: string,
): (method: 'GET' | 'POST', path: string, body?: string, headers?: string) => Promise<Answer> {
  const idle: Connection[] = [];
  return async (method, path, body, headers) => {
    const c = idle.pop() ?? connection(origin);
    try {
      return await c.request(method, path, body, headers);
    } finally {
      idle.push(c);
    }
  };
}

const now = () => performance.now();
let counter = 0;

/**
 * Added to every claim's value, so that two loads with different tags (the reps of a group, on
 * one stream) never post the same claim: a claim's id derives from its topic, metric, source,
 * statedAt and value, and a claim posted again is an echo (a failed publish and a ClaimCited),
 * which is not what the ingest and freshness figures measure.
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
  const headers = `authorization: Bearer ${spec.token}\r\n`;
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
    const conn = connection(spec.url);
    for (;;) {
      const start = now();
      if (start >= end) return;
      const { body, events: ev } = reportBody(claims);
      let a: Answer;
      try {
        a = await conn.request('POST', '/v1/reports', body, headers);
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
  const headers = `authorization: Bearer ${spec.token}\r\n`;
  const posts = pool(spec.url);
  const gets = pool(spec.queryUrl ?? spec.url);
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
      const a = await posts('POST', '/v1/reports', body, headers);
      const accepted = now();
      if (a.status !== 202) throw new Error(`POST ${a.status} ${a.body.slice(0, 200)}`);
      const r = JSON.parse(a.body) as { lastSeq: number; claims: { claimId: string; echo: boolean }[] };
      if (measured) echoes += echoesIn(r);
      const claimId = r.claims[r.claims.length - 1]!.claimId;
      // As the contract tells a client: a 503 (not reached within 5 s) is asked again at once; the
      // time counts until the claim is visible. Only a saturated machine gets here.
      const path = `/v1/claims/${claimId}?minSeq=${r.lastSeq}`;
      let g = await gets('GET', path);
      for (let again = 0; g.status === 503 && again < 5; again++) g = await gets('GET', path);
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
  /** Answers 503 (past the service's bounds) that were retried. */
  let retried = 0;
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let rows = 0;
  const t0 = now();
  let tMeasured = t0;
  const client = async () => {
    const conn = connection(spec.url);
    for (;;) {
      const i = next++;
      if (i >= warm + total) return;
      if (i === warm) tMeasured = now();
      const start = now();
      let a: Answer;
      // A read refused past the query service's bounds (503, Retry-After 1) is retried after a
      // second, as a client does; its latency runs from the first attempt.
      for (let attempt = 0; ; attempt++) {
        try {
          a = await conn.request('GET', paths[i % paths.length]!);
        } catch (err) {
          a = { status: 0, body: String(err) };
        }
        if (a.status !== 503 || attempt >= 30) break;
        retried++;
        await new Promise((r) => setTimeout(r, 1000));
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
    retried,
    errorSamples,
    events: ok,
    seconds: (now() - tMeasured) / 1000,
    latenciesMs: latencies,
    rows,
  });
}

async function flood(): Promise<void> {
  const clients = spec.clients ?? 1500;
  const paths = spec.paths ?? ['/'];
  const startedAt = Date.now();
  const end = now() + (spec.durationMs ?? 10_000);
  const statuses: Record<string, number> = {};
  const okLatencies: number[] = [];
  const errorSamples: string[] = [];
  let requests = 0;
  const client = async (k: number) => {
    const conn = connection(spec.url);
    for (let i = k; now() < end; i += clients) {
      const start = now();
      let a: Answer;
      try {
        a = await conn.request('GET', paths[i % paths.length]!);
      } catch (err) {
        a = { status: 0, body: String(err) };
        // A refused or reset connection: do not spin on it.
        await new Promise((r) => setTimeout(r, 100));
      }
      requests++;
      statuses[a.status] = (statuses[a.status] ?? 0) + 1;
      if (a.status === 200) okLatencies.push(now() - start);
      else if (a.status !== 503 && errorSamples.length < 5) errorSamples.push(`${a.status} ${a.body.slice(0, 200)}`);
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, k) => client(k)));
  const endedAt = Date.now();
  const sorted = okLatencies.sort((a, b) => a - b);
  const at = (p: number) =>
    sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : null;
  print({
    requests,
    ok: statuses[200] ?? 0,
    errors: requests - (statuses[200] ?? 0),
    errorSamples,
    events: statuses[200] ?? 0,
    seconds: (endedAt - startedAt) / 1000,
    latenciesMs: [],
    statuses,
    okP50Ms: at(50),
    okP99Ms: at(99),
    startedAt,
    endedAt,
  });
}

async function probe(): Promise<void> {
  const path = spec.paths?.[0] ?? '/';
  const intervalMs = spec.intervalMs ?? 100;
  const conn = connection(spec.url);
  const end = now() + (spec.durationMs ?? 10_000);
  const samples: [number, number, number][] = [];
  const errorSamples: string[] = [];
  for (let next = now(); next < end; next += intervalMs) {
    const wait = next - now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const at = Date.now();
    const start = now();
    let a: Answer;
    try {
      a = await conn.request('GET', path);
    } catch (err) {
      a = { status: 0, body: String(err) };
    }
    samples.push([at, now() - start, a.status]);
    if (a.status !== 200 && errorSamples.length < 5) errorSamples.push(`${a.status} ${a.body.slice(0, 200)}`);
    // A slow answer does not make up its missed starts in a burst.
    if (now() > next + intervalMs) next = now() - intervalMs;
  }
  const ok = samples.filter((x) => x[2] === 200).length;
  print({
    requests: samples.length,
    ok,
    errors: samples.length - ok,
    errorSamples,
    events: ok,
    seconds: 0,
    latenciesMs: [],
    samples,
  });
}

/** The result line; the process exits once it is flushed (a large line to a pipe is written asynchronously). */
function print(r: Record<string, unknown>): void {
  const cpu = process.cpuUsage();
  const withCpu = { ...r, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  process.stdout.write(`${JSON.stringify(withCpu)}\n`, () => process.exit(0));
}

const run = { ingest, fresh, get, flood, probe }[spec.mode];
run().then(
  () => {
    for (const c of connections) c.close();
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
