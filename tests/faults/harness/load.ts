import { setTimeout as sleep } from 'node:timers/promises';

/** One answer (or its absence) the client saw. */
export interface Answer {
  at: number;
  /** The HTTP status, or `neterr` (no connection, reset) or `timeout` (no answer in time). */
  status: number | 'neterr' | 'timeout';
  /** A 503 or 429 that carried Retry-After. */
  retryAfter: boolean;
}

export interface SentClaim {
  topic: string;
  quote: string;
  claimId?: string;
}

export interface SentReport {
  index: number;
  key: string;
  firstSentAt: number;
  attempts: number;
  claims: SentClaim[];
  ackedAt?: number;
  /** A 4xx answer: the client gives up on it (the suite sent something the contract refuses). */
  rejected?: { status: number; body: string };
  /** Any acknowledgement said `echo: true` (the claim was known before: not what the load sends). */
  echo?: boolean;
}

export interface Load {
  topic: string;
  reports: SentReport[];
  answers: Answer[];
  /** Every acknowledged claim: id, topic, and the quote it was posted with. */
  acked(): { claimId: string; topic: string; quote: string }[];
  /** The first acknowledged claim, once there is one. */
  firstAcked(): { claimId: string; topic: string } | undefined;
  /** No new reports until `resume` (the slots in between are skipped, not sent late). */
  pause(): void;
  resume(): void;
  /** No new reports from now on; the ones in flight go on retrying. */
  stopSending(): void;
  /**
   * Waits until every report is acknowledged or refused, at most `ms` (less once `hopeless()`
   * says no answer can come); then stops retrying.
   */
  drain(ms: number, hopeless?: () => boolean): Promise<{ unacknowledged: number }>;
}

export interface LoadOptions {
  ingestUrl: string;
  token: string;
  /** Reports a second, sent on schedule whatever the answers (open loop). */
  ratePerS: number;
  claimsPerReport: number;
  /** Part of every topic, URL and key: distinct claims across faults and runs. */
  label: string;
  /** A request with no answer after this long counts as `timeout` and is retried. */
  requestTimeoutMs?: number;
  /** The longest wait between two attempts (Retry-After above it is capped to it). */
  maxBackoffMs?: number;
}

/**
 * A client that posts retry-safe requests like a careful real one: the same Idempotency-Key on
 * every attempt; a 503 or 429 waits at least its Retry-After (capped), a network error or timeout
 * backs off; any other 5xx is retried too; a 4xx is final. Every answer is recorded.
 */
export function createRetryingClient(o: {
  baseUrl: string;
  token: string;
  answers: Answer[];
  requestTimeoutMs: number;
  maxBackoffMs: number;
  giveUp: () => boolean;
}) {
  return async function post(
    path: string,
    body: unknown,
    key: string,
    onAttempt?: () => void,
  ): Promise<{ status: number; body: any } | { status: 'gave-up' }> {
    const text = JSON.stringify(body);
    for (let attempt = 0; ; attempt += 1) {
      if (o.giveUp()) return { status: 'gave-up' };
      onAttempt?.();
      let waitMs = Math.min(o.maxBackoffMs, 100 * 2 ** Math.min(attempt, 10));
      try {
        const res = await fetch(`${o.baseUrl}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json', 'idempotency-key': key },
          body: text,
          signal: AbortSignal.timeout(o.requestTimeoutMs),
        });
        const answer = await res.text();
        const ra = res.headers.get('retry-after');
        o.answers.push({ at: Date.now(), status: res.status, retryAfter: ra !== null });
        if (res.status >= 200 && res.status < 300) return { status: res.status, body: JSON.parse(answer) };
        if (res.status < 500 && res.status !== 429) return { status: res.status, body: answer };
        const raMs = ra !== null && /^\d+$/.test(ra) ? Number(ra) * 1000 : 0;
        waitMs = Math.min(o.maxBackoffMs, Math.max(waitMs, raMs));
      } catch (err) {
        const e = err as { name?: string };
        o.answers.push({
          at: Date.now(),
          status: e.name === 'TimeoutError' || e.name === 'AbortError' ? 'timeout' : 'neterr',
          retryAfter: false,
        });
      }
      // Jitter, so a crowd of retries does not arrive at once.
      await sleep(waitMs * (0.75 + Math.random() * 0.5));
    }
  };
}

/**
 * An open-loop load of reports: `ratePerS` new reports a second whatever the answers, each with
 * `claimsPerReport` distinct claims and a key of its own, each retried until acknowledged.
 */
export function startLoad(o: LoadOptions): Load {
  const topic = `fault-${o.label}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const reports: SentReport[] = [];
  const answers: Answer[] = [];
  const inflight = new Set<Promise<void>>();
  let sending = true;
  let paused = false;
  let giveUp = false;
  const post = createRetryingClient({
    baseUrl: o.ingestUrl,
    token: o.token,
    answers,
    requestTimeoutMs: o.requestTimeoutMs ?? 15_000,
    maxBackoffMs: o.maxBackoffMs ?? 3000,
    giveUp: () => giveUp,
  });

  const send = async (r: SentReport) => {
    const body = {
      report: {
        url: `https://faults.example.org/${run}/${r.index}`,
        publisher: 'Fault Wire',
        publishedAt: '2025-06-01',
      },
      claims: r.claims.map((c, j) => ({
        topic: c.topic,
        metric: 'killed',
        value: { kind: 'exact', value: r.index * o.claimsPerReport + j },
        source: { id: `src-${r.index % 7}` },
        statedAt: '2025-05',
        quote: c.quote,
      })),
    };
    const out = await post('/v1/reports', body, r.key, () => (r.attempts += 1));
    if (out.status === 'gave-up') return;
    if (out.status >= 300) {
      r.rejected = { status: out.status, body: String(out.body).slice(0, 500) };
      return;
    }
    const claims = (out.body as { claims: { claimId: string; echo: boolean }[] }).claims;
    claims.forEach((c, j) => {
      if (r.claims[j]) r.claims[j].claimId = c.claimId;
      if (c.echo) r.echo = true;
    });
    r.ackedAt = Date.now();
  };

  const interval = 1000 / o.ratePerS;
  const t0 = performance.now();
  const loop = (async () => {
    for (let i = 0; sending; i += 1) {
      const due = t0 + i * interval;
      const now = performance.now();
      if (due > now) await sleep(due - now);
      if (!sending) break;
      if (paused) continue;
      const r: SentReport = {
        index: i,
        key: `${o.label}-${run}-${i}`,
        firstSentAt: Date.now(),
        attempts: 0,
        claims: Array.from({ length: o.claimsPerReport }, (_, j) => ({
          topic,
          quote: `report ${run}/${i}, claim ${j}`,
        })),
      };
      reports.push(r);
      const p: Promise<void> = send(r).finally(() => inflight.delete(p));
      inflight.add(p);
    }
  })();

  return {
    topic,
    reports,
    answers,
    acked() {
      return reports.flatMap((r) =>
        r.ackedAt === undefined
          ? []
          : r.claims.flatMap((c) => (c.claimId ? [{ claimId: c.claimId, topic: c.topic, quote: c.quote }] : [])),
      );
    },
    firstAcked() {
      for (const r of reports)
        if (r.ackedAt !== undefined && r.claims[0]?.claimId)
          return { claimId: r.claims[0].claimId, topic: r.claims[0].topic };
      return undefined;
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
    },
    stopSending() {
      sending = false;
    },
    async drain(ms, hopeless = () => false) {
      sending = false;
      await loop;
      const deadline = Date.now() + ms;
      while (inflight.size > 0 && Date.now() < deadline && !hopeless()) await sleep(100);
      giveUp = true;
      await Promise.all([...inflight]);
      return { unacknowledged: reports.filter((r) => r.ackedAt === undefined && !r.rejected).length };
    },
  };
}

/** Reads `GET path` every `everyMs` (one at a time) and records each answer. */
export function startProber(o: { baseUrl: string; token: string; path: () => string | undefined; everyMs: number }) {
  const answers: Answer[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const path = o.path();
      if (path !== undefined) {
        try {
          const res = await fetch(`${o.baseUrl}${path}`, {
            headers: { authorization: `Bearer ${o.token}` },
            signal: AbortSignal.timeout(2000),
          });
          await res.arrayBuffer();
          answers.push({ at: Date.now(), status: res.status, retryAfter: res.headers.get('retry-after') !== null });
        } catch (err) {
          const e = err as { name?: string };
          answers.push({
            at: Date.now(),
            status: e.name === 'TimeoutError' || e.name === 'AbortError' ? 'timeout' : 'neterr',
            retryAfter: false,
          });
        }
      }
      const left = o.everyMs - (performance.now() - started);
      if (left > 0) await sleep(left);
    }
  })();
  return {
    answers,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** `{ "202": 610, "503+ra": 12, "neterr": 3 }`: how often each answer came in [from, to]. */
export function histogram(answers: Answer[], from = 0, to = Infinity): Record<string, number> {
  const h: Record<string, number> = {};
  for (const a of answers) {
    if (a.at < from || a.at > to) continue;
    const k = typeof a.status === 'number' && a.retryAfter ? `${a.status}+ra` : String(a.status);
    h[k] = (h[k] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(h).sort(([a], [b]) => a.localeCompare(b)));
}
