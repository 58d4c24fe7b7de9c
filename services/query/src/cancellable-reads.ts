// Statements of a request whose client went away are cancelled. Postgres would otherwise run them
// to the end (a read of every claim can take seconds) while the connection they hold is missing
// from the pool, and a flood of abandoned requests kept the pool busy for minutes after it ended.
//
// How a request's statements are known: each request runs in a scope (AsyncLocalStorage), and the
// pool's `connect` is wrapped so that a client checked out inside a scope is held by it until
// released. Cancelling a scope sends pg_cancel_backend for those clients' backends over a pool of
// its own (one connection), so that the cancel never waits behind the busy pool it is meant to
// relieve. A client released after its scope was cancelled is closed rather than reused: a cancel
// still on its way must not reach the next request's statement.
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';

interface Scope {
  clients: Set<pg.PoolClient>;
  cancelled: boolean;
}

type Connect = () => Promise<pg.PoolClient>;

export interface CancellableReadsOptions {
  /** Told of a cancel that could not be sent (it is not retried: the statement_timeout still ends it). */
  onCancelError?: (err: unknown) => void;
}

/** A request's part: run its reads in it, cancel them when its client goes away. */
export interface ReadScope {
  run<T>(read: () => Promise<T>): Promise<T>;
  /** Cancels the statements running now and refuses new ones; resolves once the cancel is sent. */
  cancel(): Promise<void>;
  readonly cancelled: boolean;
}

/**
 * Scopes over `pool`'s statements. Without a pool (a Kysely instance that createDb did not make),
 * scopes run their reads as they are and cancel nothing.
 */
export function createCancellableReads(pool: pg.Pool | undefined, o: CancellableReadsOptions = {}) {
  const storage = new AsyncLocalStorage<Scope>();
  if (!pool) {
    return {
      scope: (): ReadScope => ({ run: (read) => read(), cancel: () => Promise.resolve(), cancelled: false }),
      shared: <T>(read: () => Promise<T>): Promise<T> => read(),
      close: () => Promise.resolve(),
    };
  }
  const previous = Object.getOwnPropertyDescriptor(pool, 'connect');
  const original = pool.connect.bind(pool) as Connect;
  // The cancels' own connection: the same server and role (pg_cancel_backend needs the role of the
  // backend it signals), never more than one.
  const { max: _max, ...options } = pool.options;
  const cancels = new pg.Pool({
    ...options,
    max: 1,
    idleTimeoutMillis: 10_000,
    application_name: 'claimtrail-query-cancel',
  });
  cancels.on('error', (err) => o.onCancelError?.(err));
  // A checked-out client has no listener of the pool's (createPool says why).
  cancels.on('connect', (client) => client.on('error', (err) => o.onCancelError?.(err)));

  const connect = async (): Promise<pg.PoolClient> => {
    const scope = storage.getStore();
    const client = await original();
    if (!scope) return client;
    if (scope.cancelled) {
      client.release();
      throw new Error('the request was cancelled before its statement started');
    }
    scope.clients.add(client);
    const release = client.release.bind(client);
    client.release = (err?: Error | boolean) => {
      scope.clients.delete(client);
      release(err ?? (scope.cancelled ? true : undefined));
    };
    return client;
  };
  // The callback form (pool.connect(cb)) is not Kysely's and goes to the pool as it is.
  const patched = (...args: unknown[]) =>
    args.length > 0 ? (original as (...a: unknown[]) => unknown)(...args) : connect();
  pool.connect = patched as typeof pool.connect;

  async function cancel(scope: Scope) {
    scope.cancelled = true;
    const pids = [...scope.clients]
      .map((c) => (c as unknown as { processID: number | null }).processID)
      .filter((pid): pid is number => typeof pid === 'number');
    if (pids.length === 0) return;
    try {
      await cancels.query('select pg_cancel_backend(pid) from unnest($1::int[]) as pid', [pids]);
    } catch (err) {
      o.onCancelError?.(err);
    }
  }

  return {
    /** A fresh scope for one request. */
    scope(): ReadScope {
      const s: Scope = { clients: new Set(), cancelled: false };
      return {
        run: (read) => storage.run(s, read),
        cancel: () => cancel(s),
        get cancelled() {
          return s.cancelled;
        },
      };
    },
    /**
     * Runs `read` outside any request's scope: a statement shared by several requests (a single
     * flight) must not be cancelled because one of them went away.
     */
    shared<T>(read: () => Promise<T>): Promise<T> {
      return storage.exit(read);
    },
    /** Gives the pool its own `connect` back and closes the cancels' connection. */
    async close() {
      if (pool.connect === (patched as typeof pool.connect)) {
        if (previous) Object.defineProperty(pool, 'connect', previous);
        else delete (pool as { connect?: unknown }).connect;
      }
      await cancels.end();
    },
  };
}
export type CancellableReads = ReturnType<typeof createCancellableReads>;
