/** A leader with events waiting that has committed nothing for this long reports not ready. */
export const STALL_MS = 30_000;

/** A failure named for an operator without its text (which may hold data or addresses): its SQLSTATE or class. */
export function failureName(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown } | null;
  const name = typeof e?.name === 'string' ? e.name : 'unknown failure';
  return typeof e?.code === 'string' && e.code !== '' ? `${name} ${e.code}` : name;
}

/**
 * For readiness: the newest seq delivered, the newest committed, when a commit last landed, and
 * the last failure since.
 */
export function createProjectorProgress(stallMs = STALL_MS) {
  const p = { delivered: 0, committed: 0, at: Date.now(), failure: undefined as string | undefined };
  return {
    /** A run starts from the checkpoint at `seq`: nothing is waiting. */
    startAt(seq: number): void {
      p.committed = p.delivered = seq;
      p.at = Date.now();
    },
    delivered(seq: number): void {
      if (seq > p.delivered) p.delivered = seq;
    },
    committed(seq: number): void {
      p.committed = Math.max(p.committed, seq);
      p.at = Date.now();
      p.failure = undefined;
    },
    failed(err: unknown): void {
      p.failure = failureName(err);
    },
    /**
     * Why a leading projector is not keeping up, or undefined: events were delivered past what it
     * committed, and nothing was committed for `stallMs`.
     */
    stalled(now: number): string | undefined {
      const waiting = p.delivered - p.committed;
      if (waiting <= 0 || now - p.at < stallMs) return undefined;
      const idle = Math.round((now - p.at) / 1000);
      return `projector stalled: ${waiting} delivered events not applied, nothing committed for ${idle} s${p.failure ? ` (last failure: ${p.failure})` : ''}`;
    },
  };
}
