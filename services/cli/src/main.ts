// The claimtrail CLI: the composition root that may run every service in one process.
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { AuditError } from '@claimtrail/audit';
import { ConfigError } from '@claimtrail/shared/errors';
import { SCOPES, type Scope } from '@claimtrail/shared/identity';
import { loadCliConfig, type CliConfig } from './config.ts';
import {
  CliError,
  createToken,
  listTokens,
  migrateEverything,
  openDatabase,
  openNats,
  revokeToken,
} from './runtime.ts';
import { serve } from './commands/serve.ts';
import { postFiles } from './commands/post.ts';
import { registerReplay } from './commands/replay.ts';
import { registerAudit } from './commands/audit.ts';
import { registerExport } from './commands/export.ts';
import { registerImport } from './commands/import.ts';
import { registerVerifyExport } from './commands/verify-export.ts';
import { usageExit } from './command-context.ts';

const out = (s: string) => process.stdout.write(`${s}\n`);
const err = (s: string) => process.stderr.write(`${s}\n`);

function config(): CliConfig {
  return loadCliConfig(process.env);
}

const program = new Command()
  .name('claimtrail')
  .description(
    'claimtrail: an event-sourced tracker of contested figures.\nSettings come from environment variables (docs/configuration.md): DATABASE_URL, NATS_URL, …',
  )
  .showHelpAfterError('(add --help for usage)')
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

program
  .command('serve')
  .description(
    'run ingest, projector and query in one process (creates the database if missing, migrates, provisions the stream)',
  )
  .option('--demo', 'post the demo report (from demo/) when the database is empty, and print a demo token', false)
  .option('--token-file <path>', 'where the demo token is kept', join(process.cwd(), '.claimtrail', 'demo-token'))
  .action(async (opts: { demo: boolean; tokenFile: string }) => {
    const running = await serve(config(), { demo: opts.demo, tokenFile: opts.tokenFile, out });
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      err(`\n${signal}: draining…`);
      await running.stop();
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
  });

program
  .command('post')
  .description('post report files (JSON bodies of POST /v1/reports) to ingest; prints the claim ids and seqs')
  .argument('<files...>', 'report files')
  .option('--token <token>', 'bearer token with scope report:write (default: $CLAIMTRAIL_TOKEN)')
  .option('--url <url>', 'ingest base URL (default: $CLAIMTRAIL_INGEST_URL or http://127.0.0.1:8081)')
  .option('--idempotency-key <key>', 'Idempotency-Key header (suffixed -N with several files)')
  .option('--json', 'one JSON line per file', false)
  .action(async (files: string[], opts: { token?: string; url?: string; idempotencyKey?: string; json: boolean }) => {
    const { failures } = await postFiles(config(), files, { ...opts, out });
    if (failures > 0) process.exitCode = 1;
  });

const token = program.command('token').description('manage API tokens');
token
  .command('create')
  .description('create a token and print it on stdout (only its hash is stored)')
  .addOption(
    new Option('--scope <scope...>', 'scopes to grant (repeatable)').choices([...SCOPES]).makeOptionMandatory(),
  )
  .option('--name <principal>', 'who the token is for (recorded as the actor of its events)', 'cli')
  .action(async (opts: { scope: Scope[]; name: string }) => {
    const c = config();
    if (!/^[\x21-\x7e]{1,200}$/.test(opts.name))
      throw new CliError('--name must be 1..200 visible ASCII characters', 2);
    const { db } = await openDatabase(c, { create: true, max: 2 });
    const nc = await openNats(c, 'claimtrail-cli');
    try {
      await migrateEverything(c, db, nc);
      out(await createToken(c, db, nc, opts.name, [...new Set(opts.scope)]));
    } finally {
      await nc.close();
      await db.destroy();
    }
  });

token
  .command('list')
  .description('list tokens: hash (what is stored), principal, scopes, created, revoked')
  .option('--json', 'one JSON object per token', false)
  .action(async (opts: { json: boolean }) => {
    const c = config();
    const { db } = await openDatabase(c, { create: false, max: 2 });
    try {
      const rows = await listTokens(c, db);
      if (opts.json) for (const r of rows) out(JSON.stringify(r));
      else if (rows.length === 0) out('no tokens (create one with `claimtrail token create --scope …`)');
      else
        for (const r of rows)
          out(
            `${r.hash.slice(0, 12)}  ${r.principal}  ${r.scopes.join(',')}  created ${r.createdAt}${r.revokedAt ? `  REVOKED ${r.revokedAt}` : ''}`,
          );
    } finally {
      await db.destroy();
    }
  });

token
  .command('revoke')
  .description('revoke a token at once for every service (ingest and query may accept it for up to 5 s more)')
  .argument('<token>', 'the token (ct_…) or its hash from `claimtrail token list` (8 or more hex digits)')
  .action(async (given: string) => {
    const c = config();
    const { db } = await openDatabase(c, { create: false, max: 2 });
    const nc = await openNats(c, 'claimtrail-cli');
    try {
      const { row, already } = await revokeToken(c, db, nc, given);
      out(
        already
          ? `token ${row.hash.slice(0, 12)} (${row.principal}) was already revoked at ${row.revokedAt}`
          : `revoked token ${row.hash.slice(0, 12)} (${row.principal}) at ${row.revokedAt}`,
      );
    } finally {
      await nc.close();
      await db.destroy();
    }
  });

function replicaCount(v: string): number {
  if (!/^[1-5]$/.test(v))
    throw new InvalidArgumentError(`--replicas must be a whole number 1..5, got ${JSON.stringify(v)}`);
  return Number(v);
}

program
  .command('migrate')
  .exitOverride(usageExit)
  .description(
    'create the database if missing, migrate the schemas, provision the stream and buckets (with $CLAIMTRAIL_REPLICAS replicas when created)',
  )
  .option(
    '--replicas <n>',
    'change the replica count of the existing stream and its KV buckets to n (1..5, at most the servers of the NATS cluster)',
    replicaCount,
  )
  .option(
    '--identities',
    'build the identity index again from the stream: after a correction answered 503 that nobody retried, or an import (only keys that differ are written; safe while ingest runs)',
  )
  .action(async (opts: { replicas?: number; identities?: boolean }) => {
    const c = config();
    const { db, created } = await openDatabase(c, { create: true, max: 2 });
    const nc = await openNats(c, 'claimtrail-migrate');
    try {
      const m = await migrateEverything(c, db, nc, {
        ...(opts.replicas === undefined ? {} : { changeReplicasTo: opts.replicas }),
        rebuildIdentities: opts.identities === true,
      });
      if (created) out('database created');
      for (const o of m.outcomes)
        out(`schema ${o.schema}: ${o.applied.length ? `applied ${o.applied.join(', ')}` : 'up to date'}`);
      const where =
        m.cluster.name === undefined
          ? 'a single server'
          : `cluster ${m.cluster.name} of ${m.cluster.servers ?? 'an unknown number of'} servers`;
      out(
        `stream ${c.CLAIMTRAIL_STREAM}: ${m.streamCreated ? 'created' : 'up to date'}, ${m.replicas} replica${m.replicas === 1 ? '' : 's'} (NATS ${m.serverVersion}, ${where})`,
      );
      if (m.identities) {
        const i = m.identities;
        out(
          `identity index: ${i.claims.toLocaleString('en')} claims read; ${i.held} identities held by a claim of another id, ${i.moved} claims moved off their id's identity; ${i.put} keys written, ${i.deleted} deleted`,
        );
      }
      for (const r of m.replicaChanges)
        out(
          r.from === r.to ? `replicas of ${r.stream}: ${r.to} already` : `replicas of ${r.stream}: ${r.from} → ${r.to}`,
        );
      if (opts.replicas === undefined && m.replicas !== c.CLAIMTRAIL_REPLICAS)
        out(
          `note: the stream keeps ${m.replicas} replica${m.replicas === 1 ? '' : 's'} while CLAIMTRAIL_REPLICAS is ${c.CLAIMTRAIL_REPLICAS}; \`claimtrail migrate --replicas ${c.CLAIMTRAIL_REPLICAS}\` changes it`,
        );
    } finally {
      await nc.close();
      await db.destroy();
    }
  });

const auditContext = { config, out };
registerReplay(program, auditContext);
registerAudit(program, auditContext);
registerExport(program, auditContext);
registerImport(program, auditContext);
registerVerifyExport(program, auditContext);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof ConfigError) {
    err(`claimtrail: ${e.message}`);
    process.exit(2);
  }
  if (e instanceof CliError) {
    err(`claimtrail: ${e.message}`);
    process.exit(e.exitCode);
  }
  if (e instanceof AuditError) {
    err(`claimtrail: ${e.message}`);
    process.exit(e.usage ? 2 : 1);
  }
  // Anything else (a connection lost mid-command, say) is still one line; the stack only on request.
  if (process.env.CLAIMTRAIL_DEBUG === '1') throw e;
  err(`claimtrail: ${e instanceof Error ? e.message : String(e)} (CLAIMTRAIL_DEBUG=1 shows the stack trace)`);
  process.exit(1);
}
