import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from '@claimtrail/shared';

/** The advisory lock that elects the one writer of a read-model schema (a replay into it takes it too). */
export function schemaLockKey(schema: string): string {
  return `claimtrail-projector:${schema}`;
}

/** The election lock's connection ended while this projector led: it stops leading at once. */
export class LeadershipLostError extends Error {
  constructor(schema: string, cause?: unknown) {
    super(`lost the projector lock of ${schema} (its connection ended); standing down`, { cause });
    this.name = 'LeadershipLostError';
  }
}

export interface LeaderElectionOptions {
  databaseUrl: string;
  logger: Logger;
  /** True once the owner is stopping: no more waiting for the lock, and a lost lock is not news. */
  stopping: () => boolean;
  /** Called once when the lock's connection ends while leading (the run in progress should end). */
  onLost: (err: LeadershipLostError) => void;
}

/**
 * One projector leads a read-model schema: the one that holds its advisory lock, on a connection
 * of its own, and moved the schema's lease to a new epoch after taking it (the store's takeLead,
 * which fences every commit made under an older epoch). When the lock's connection ends, the
 * leader stands down at once; a standby polls for the lock.
 */
export function createLeaderElection(o: LeaderElectionOptions) {
  const { logger } = o;
  const holder = `${hostname()}:${process.pid}`;
  let lockClient: pg.Client | undefined;
  /** The schema whose lock is held or wanted. */
  let schema = '';
  let leading = false;
  /** Set when the lock's connection ends while leading; the run in progress ends on it. */
  let lost: LeadershipLostError | undefined;

  /** The lock connection is gone: a leader stands down at once (its commits are fenced anyway). */
  function lockConnectionEnded(client: pg.Client, err?: unknown) {
    if (lockClient !== client) return;
    lockClient = undefined;
    client.end().catch(() => undefined);
    if (!leading || o.stopping()) return;
    leading = false;
    lost = new LeadershipLostError(schema, err);
    logger.error({ err, schema }, 'lock connection lost; standing down and re-electing');
    o.onLost(lost);
  }

  return {
    /** `host:pid`, recorded with the lease. */
    holder,
    /**
     * Waits for the lock of `forSchema` (polling while another projector holds it); false when
     * stopping first. A lost lead of an earlier run is forgotten.
     */
    async acquire(forSchema: string): Promise<boolean> {
      schema = forSchema;
      lost = undefined;
      // A session-level lock on a connection of its own: it is released by Postgres the moment this
      // process dies or the connection drops, so a standby takes over. Losing it ends the lead
      // (lockConnectionEnded); the lease epoch (takeLead) fences whatever was still in flight.
      let client = lockClient;
      if (!client) {
        const c = new pg.Client({
          connectionString: o.databaseUrl,
          application_name: `claimtrail-projector-lock`,
        });
        client = c;
        c.on('error', (err) => lockConnectionEnded(c, err));
        c.on('end', () => lockConnectionEnded(c));
        try {
          await c.connect();
        } catch (err) {
          await c.end().catch(() => undefined);
          throw err;
        }
        lockClient = c;
      }
      let announced = false;
      for (;;) {
        if (o.stopping()) return false;
        const r = await client.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtext($1)) as ok', [
          schemaLockKey(schema),
        ]);
        if (r.rows[0]?.ok) return true;
        if (!announced) logger.info({ schema }, 'another projector holds the lock; standing by');
        announced = true;
        await sleep(500);
      }
    },
    /** Leading from now on (the lock is held and the lease taken): losing the lock now ends the lead. */
    lead(): void {
      leading = true;
    },
    /** Not leading any more (the run ended; the lock may still be held until release or re-election). */
    standDown(): void {
      leading = false;
    },
    get leading(): boolean {
      return leading;
    },
    /** The lead lost since acquire, if it was. */
    lost(): LeadershipLostError | undefined {
      return lost;
    },
    /** Lets go of the lock of the schema left on promotion (the connection stays for the next one). */
    async release(): Promise<void> {
      await lockClient?.query('select pg_advisory_unlock(hashtext($1))', [schemaLockKey(schema)]);
    },
    /** Ends the lock's connection (which releases the lock). */
    async close(): Promise<void> {
      await lockClient?.end().catch(() => undefined);
    },
  };
}
export type LeaderElection = ReturnType<typeof createLeaderElection>;
