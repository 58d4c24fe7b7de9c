import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { FoldOutput } from './fold-rows.ts';

/** The projector's Prometheus metrics (GET /metrics), registered on `registry`. */
export function createProjectorMetrics(registry: Registry) {
  const applied = new Counter({
    name: 'projector_events_applied_total',
    help: 'events applied to read models',
    registers: [registry],
  });
  const parked = new Counter({
    name: 'projector_events_parked_total',
    help: 'events parked in dead_letters',
    registers: [registry],
  });
  const batches = new Histogram({
    name: 'projector_batch_seconds',
    help: 'time to fold and commit one batch',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const lastSeq = new Gauge({
    name: 'projector_last_seq',
    help: 'last stream seq applied',
    registers: [registry],
  });
  const pending = new Gauge({
    name: 'projector_pending',
    help: 'messages not yet delivered to the projector',
    registers: [registry],
  });
  return {
    /** A batch committed `seconds` after it was submitted. */
    committed(out: FoldOutput, seconds: number): void {
      batches.observe(seconds);
      applied.inc(out.applied);
      parked.inc(out.deadLetters.length);
      lastSeq.set(out.lastSeq);
    },
    /** Where a run starts: the checkpoint's seq. */
    startedAt(seq: number): void {
      lastSeq.set(seq);
    },
    /** What the server says is not yet delivered, as of the newest message. */
    pending(n: number): void {
      pending.set(n);
    },
  };
}
export type ProjectorMetrics = ReturnType<typeof createProjectorMetrics>;
