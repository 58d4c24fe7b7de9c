// Ingest in several processes behind one port (node:cluster). Ingest keeps no state between
// requests, and one process is bound by its one thread: in the bench (npm run bench, --only
// ingest, 2 vCPU) one process kept its thread 0.9 of a core busy at 23-24k events/s with the
// machine a quarter idle, and two took 28-29k (README, performance: twelfth session).
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
/** How long a worker waits for the primary's sum of every worker's metrics. */
const METRICS_TIMEOUT_MS = 5_000;

interface MetricsResponse {
  type: typeof METRICS_RES;
  id: number;
  text?: string;
  error?: string;
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
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker: Worker, msg: unknown) => {
    const m = msg as { type?: unknown; id?: unknown };
    if (m?.type !== METRICS_REQ || typeof m.id !== 'number') return;
    const id = m.id;
    aggregator.clusterMetrics().then(
      (text) => worker.isConnected() && worker.send({ type: METRICS_RES, id, text } satisfies MetricsResponse),
      (err: unknown) =>
        worker.isConnected() && worker.send({ type: METRICS_RES, id, error: String(err) } satisfies MetricsResponse),
    );
  });

  let stopping = false;
  const exits = new Map<number, Promise<number>>();
  const start = (): Promise<Worker> => {
    const worker = cluster.fork();
    const exited = new Promise<number>((resolve) =>
      worker.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))),
    );
    exits.set(worker.id, exited);
    return new Promise<Worker>((resolve, reject) => {
      worker.once('listening', () => resolve(worker));
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
 * In a worker: reports `registry` to the primary when it sums the workers' metrics, and gives the
 * text of GET /metrics: the sum over every worker (counters and histograms added; the process
 * metrics of prom-client's defaults as it aggregates them), asked of the primary. If the primary
 * does not answer in time, this worker's own metrics, with a comment saying so.
 */
export function clusterMetrics(registry: Registry): () => Promise<string> {
  // Constructing one installs prom-client's listener that answers the primary's requests.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
  let counter = 0;
  const waiting = new Map<number, (r: MetricsResponse | undefined) => void>();
  process.on('message', (msg: unknown) => {
    const m = msg as Partial<MetricsResponse>;
    if (m?.type !== METRICS_RES || typeof m.id !== 'number') return;
    waiting.get(m.id)?.(m as MetricsResponse);
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
    if (r?.text !== undefined) return r.text;
    const why = r?.error ?? `no answer from the primary within ${METRICS_TIMEOUT_MS} ms`;
    return `# this process's metrics only (of several ingest processes): ${why.replace(/\n/g, ' ')}\n${await registry.metrics()}`;
  };
}
