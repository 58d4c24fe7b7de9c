import { InvalidArgumentError, type CommanderError } from 'commander';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ReplayDeps } from '@claimtrail/audit';
import type { CliConfig } from './config.ts';
import { openDatabase, openNats } from './runtime.ts';

/** What every audit command is given by main.ts. */
export interface CommandContext {
  config: () => CliConfig;
  out: (line: string) => void;
}

/** Opens Postgres and NATS for an audit command; `close` releases both. */
export async function openAuditDeps(
  config: CliConfig,
  name: string,
  o: { nats?: boolean } = {},
): Promise<{ deps: ReplayDeps; close: () => Promise<void> }> {
  const { db } = await openDatabase(config, { create: false, max: 6 });
  // as-of reads Postgres only; the other commands need NATS too.
  let nc: NatsConnection | undefined;
  try {
    nc = o.nats === false ? undefined : await openNats(config, name);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return {
    deps: {
      db,
      nc: nc as NatsConnection,
      stream: config.CLAIMTRAIL_STREAM,
      subjectPrefix: config.CLAIMTRAIL_SUBJECT_PREFIX,
      baseSchema: config.CLAIMTRAIL_SCHEMA,
    },
    close: async () => {
      await nc?.close().catch(() => undefined);
      await db.destroy().catch(() => undefined);
    },
  };
}

/** A commander parser for a positive integer option that names the option when it fails. */
export function positiveInt(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < 1 || !Number.isSafeInteger(Number(v)))
      throw new InvalidArgumentError(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
    return Number(v);
  };
}

/** A commander parser for an RFC 3339 instant (or a date), named in its error. */
export function instantArg(name: string) {
  return (v: string): string => {
    const d = new Date(v);
    if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(d.getTime()))
      throw new InvalidArgumentError(
        `${name} must be an RFC 3339 instant such as 2025-02-21T12:00:00Z, got ${JSON.stringify(v)}`,
      );
    return d.toISOString();
  };
}

/**
 * For `Command.exitOverride`: a usage error (an unknown option, a missing or malformed argument)
 * exits 2, so that 1 keeps meaning "a check failed"; help and version still exit 0. Commander
 * has already printed the message naming the argument.
 */
export function usageExit(err: CommanderError): never {
  process.exit(err.exitCode === 0 ? 0 : 2);
}
