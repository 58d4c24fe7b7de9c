// Ingest in several processes behind one port (node:cluster). Ingest keeps no state between
// requests, and one process is bound by its one thread (docs/decisions/0006-ingest-in-several-processes.md).
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Logger } from '@claimtrail/shared';

/** `INGEST_PROCESSES=auto` starts one process a core, and no more than this. */
export const AUTO_MAX_PROCESSES = 4;

/** How many ingest processes a setting means on a machine with `cores` cores. */
export function ingestProcessCount(setting: 'auto' | number, cores = availableParallelism()): number {
  return setting === 'auto' ? Math.max(1, Math.min(cores, AUTO_MAX_PROCESSES)) : setting;
}

const METRICS_REQ = 'claimtrail:cluster-metrics-req';
const METRICS_RES = 'claimtrail:cluster-metrics-res';
const COLLECT_REQ = 'claimtrail:cluster-collect-req';
const COLLECT_RES = 'claimtrail:cluster-collect-res';
/** How long the primary waits for each worker's metrics, and a worker for the primary's sum. */
const COLLECT_TIMEOUT_MS = 2_000;
const METRICS_TIMEOUT_MS = 5_000;

let collects = 0;

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

interface MetricsResponse {
  type: typeof METRICS_RES;
  id: number;
  text: string;
}

/**
 * The sum of the metrics of the `workers` that listen (a worker still starting has no registry
 * yet, and waiting for it would hold GET /metrics up): each sends its registry as JSON, and
 * prom-client adds them up (counters and histograms summed; its default process metrics as it
 * aggregates each). Workers that do not answer within COLLECT_TIMEOUT_MS are left out, and a
 * comment line says how many.
 */
function collectMetrics(workers: Worker[]): Promise<string> {
  return new Promise((resolve) => {
    const id = collects++;
    const got: MetricsJson[] = [];
    let pending = workers.length;
    const finish = () => {
      clearTimeout(timer);
      cluster.off('message', onMessage);
      const missing = workers.length - got.length;
      const note = missing > 0 ? `# ${missing} of ${workers.length} ingest processes did not answer in time\n` : '';
      const failed = (err: unknown) => resolve(`# the metrics could not be summed: ${String(err)}\n`);
      try {
        AggregatorRegistry.aggregate(got)
          .metrics()
          .then((text) => resolve(note + text), failed);
      } catch (err) {
        failed(err);
      }
    };
    const onMessage = (_w: Worker, msg: unknown) => {
      const m = msg as { type?: unknown; id?: unknown; metrics?: MetricsJson };
      if (m?.type !== COLLECT_RES || m.id !== id || !Array.isArray(m.metrics)) return;
      got.push(m.metrics);
      if (--pending === 0) finish();
    };
    const timer = setTimeout(finish, COLLECT_TIMEOUT_MS);
    cluster.on('message', onMessage);
    if (pending === 0) finish();
    for (const w of workers) w.send({ type: COLLECT_REQ, id });
  });
}

/**
 * The primary: starts `processes` workers (each runs this same script, which then takes the
 * worker's path), one first and the rest once it listens, so that the first provisions the stream
 * and buckets alone and a bad start (NATS unreachable) stops with one message, not several. After
 * that, a worker that exits stops the service (exit 1: whatever restarts it restarts all of it);
 * SIGTERM or SIGINT stops every worker, each draining its requests, and exits 0 when all did.
 * It also answers the workers' requests for the metrics of all of them (GET /metrics).
 */
export async function runIngestPrimary(o: { processes: number; logger: Logger }): Promise<void> {
  const { logger } = o;
  const listening = new Set<Worker>();
  cluster.on('message', (worker: Worker, msg: unknown) => {
    const m = msg as { type?: unknown; id?: unknown };
    if (m?.type !== METRICS_REQ || typeof m.id !== 'number') return;
    const id = m.id;
    void collectMetrics([...listening].filter((w) => w.isConnected())).then(
      (text) => worker.isConnected() && worker.send({ type: METRICS_RES, id, text } satisfies MetricsResponse),
    );
  });

  let stopping = false;
  const exits = new Map<number, Promise<number>>();
  const start = (): Promise<Worker> => {
    const worker = cluster.fork();
    // A worker stopped by the signal this process sends it before it set up its own handler (it
    // was still starting) had nothing to drain: a clean stop.
    const exited = new Promise<number>((resolve) =>
      worker.once('exit', (code, signal) =>
        resolve(code ?? (stopping && (signal === 'SIGTERM' || signal === 'SIGINT') ? 0 : 1)),
      ),
    );
    exits.set(worker.id, exited);
    return new Promise<Worker>((resolve, reject) => {
      worker.once('listening', () => {
        listening.add(worker);
        resolve(worker);
      });
      worker.once('exit', () => listening.delete(worker));
      void exited.then((code) => reject(Object.assign(new Error('exited'), { code })));
    });
  };
  const stopAll = async (): Promise<number> => {
    for (const w of Object.values(cluster.workers ?? {})) if (w && !w.isDead()) w.process.kill('SIGTERM');
    const codes = await Promise.all(exits.values());
    return Math.max(0, ...codes);
  };
  const exitWith = async (code: number) => {
    stopping = true;
    await stopAll();
    process.exit(code);
  };

  const handle = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    void stopAll().then((code) => process.exit(code === 0 ? 0 : 1));
  };
  process.on('SIGTERM', () => handle('SIGTERM'));
  process.on('SIGINT', () => handle('SIGINT'));

  // A worker that cannot start has printed why (its stderr is this process's).
  try {
    await start();
    if (stopping) return;
    await Promise.all(Array.from({ length: o.processes - 1 }, start));
  } catch (err) {
    if (stopping) return;
    return exitWith((err as { code?: number }).code || 1);
  }
  if (stopping) return;
  logger.info({ processes: o.processes }, `ingest running in ${o.processes} processes`);
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    logger.error({ workerPid: worker.process.pid, code, signal }, 'an ingest process exited; stopping the others');
    void exitWith(1);
  });
}

/**
 * In a worker: sends `registry` to the primary when it sums the workers' metrics, and gives the
 * text of GET /metrics: that sum over every listening worker, asked of the primary. If the
 * primary does not answer in time, this worker's own metrics, with a comment saying so.
 */
export function clusterMetrics(registry: Registry): () => Promise<string> {
  let counter = 0;
  const waiting = new Map<number, (r: MetricsResponse | undefined) => void>();
  process.on('message', (msg: unknown) => {
    const m = msg as { type?: unknown; id?: unknown };
    if (typeof m?.id !== 'number') return;
    if (m.type === METRICS_RES) waiting.get(m.id)?.(m as MetricsResponse);
    else if (m.type === COLLECT_REQ) {
      const id = m.id;
      registry.getMetricsAsJSON().then(
        (metrics) => process.send?.({ type: COLLECT_RES, id, metrics }),
        () => undefined,
      );
    }
  });
  return async () => {
    const id = counter++;
    const r = await new Promise<MetricsResponse | undefined>((resolve) => {
      const timer = setTimeout(() => finish(undefined), METRICS_TIMEOUT_MS);
      const finish = (res: MetricsResponse | undefined) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(res);
      };
      waiting.set(id, finish);
      process.send?.({ type: METRICS_REQ, id }, undefined, {}, (err) => err && finish(undefined));
    });
    if (r) return r.text;
    return `# this process's metrics only (of several ingest processes): no answer from the primary within ${METRICS_TIMEOUT_MS} ms\n${await registry.metrics()}`;
  };
}
