import type { Command } from 'commander';
import { asOfRows, formatTable, formatVerifyReport, runAsOf, runClaimStory, runVerify } from '@claimtrail/audit';
import { openAuditDeps, positiveInt, type CommandContext, usageExit } from '../command-context.ts';

/** `claimtrail audit verify | as-of | claim`. */
export function registerAudit(program: Command, ctx: CommandContext): void {
  const audit = program
    .command('audit')
    .exitOverride(usageExit)
    .description('prove that the answers follow from the stream: verify, as-of, claim');

  audit
    .command('verify')
    .description(
      'recompute the chain hash of every event from the stream, compare the stream with event_ledger (gaps, changed bytes, order), replay into a scratch schema and compare every read-model table with the live one, and name every parked event and every repeat; exit 0 when every check holds (parked events are a warning unless --fail-on-parked), 1 when one fails (docs/audits.md)',
    )
    .option(
      '--from-seq <n>',
      'start the chain and ledger checks here (anchored on the ledger hash before it); the replay check is always complete',
      positiveInt('--from-seq'),
    )
    .option('--no-replay', 'skip step 3 (replay and read-model comparison)')
    .option('--keep-scratch', 'keep the scratch schema of the replay for inspection', false)
    .option('--max-differences <n>', 'differences listed per check', positiveInt('--max-differences'), 10)
    .option(
      '--rule <id>',
      'normalisation rule of the replay (default: the one the live read models are folded with, stored with them)',
    )
    .option('--batch-size <n>', 'events per batch (default: $CLAIMTRAIL_BATCH_SIZE)', positiveInt('--batch-size'))
    .option('--fail-on-parked', 'fail (exit 1) when any event is parked in dead_letters, instead of warning', false)
    .option('--json', 'print the report as JSON', false)
    .action(
      async (opts: {
        fromSeq?: number;
        failOnParked: boolean;
        replay: boolean;
        keepScratch: boolean;
        maxDifferences: number;
        rule?: string;
        batchSize?: number;
        json: boolean;
      }) => {
        const c = ctx.config();
        const { deps, close } = await openAuditDeps(c, 'claimtrail-audit-verify');
        try {
          const r = await runVerify(deps, {
            ...(opts.fromSeq === undefined ? {} : { fromSeq: opts.fromSeq }),
            replay: opts.replay,
            keepScratch: opts.keepScratch,
            maxDifferences: opts.maxDifferences,
            failOnParked: opts.failOnParked,
            ...(opts.rule === undefined ? {} : { rule: opts.rule }),
            batchSize: opts.batchSize ?? c.CLAIMTRAIL_BATCH_SIZE,
          });
          if (opts.json) ctx.out(JSON.stringify(r));
          else for (const l of formatVerifyReport(r)) ctx.out(l);
          if (!r.ok) process.exitCode = 1;
        } finally {
          await close();
        }
      },
    );

  audit
    .command('as-of')
    .description(
      "the state known at an instant: every topic's metric histories as the query API answers them with knownAt",
    )
    .argument('<time>', 'RFC 3339 instant, e.g. 2025-02-21T12:00:00Z')
    .option('--topic <topic>', 'one topic only')
    .option('--include-retracted', 'list retracted claims too', false)
    .option('--json', 'print JSON (topics → metrics → series, as GET …/history returns them)', false)
    .action(async (time: string, opts: { topic?: string; includeRetracted: boolean; json: boolean }) => {
      const c = ctx.config();
      const { deps, close } = await openAuditDeps(c, 'claimtrail-audit-as-of', { nats: false });
      try {
        const a = await runAsOf(deps, {
          at: time,
          ...(opts.topic === undefined ? {} : { topic: opts.topic }),
          includeRetracted: opts.includeRetracted,
        });
        if (opts.json) ctx.out(JSON.stringify(a));
        else {
          ctx.out(`known at ${a.knownAt} (projection at seq ${a.asOfSeq})`);
          const rows = asOfRows(a);
          if (rows.length === 1) ctx.out('nothing was known at that instant');
          else for (const l of formatTable(rows)) ctx.out(l);
        }
      } finally {
        await close();
      }
    });

  audit
    .command('claim')
    .description(
      'the full story of one claim: each event, who posted it, when, from which report, with its chain hash (checked against the stream)',
    )
    .argument('<claimId>', 'clm_ followed by 24 hex digits')
    .option('--json', 'print JSON', false)
    .action(async (claimId: string, opts: { json: boolean }) => {
      const c = ctx.config();
      const { deps, close } = await openAuditDeps(c, 'claimtrail-audit-claim');
      try {
        const s = await runClaimStory({ ...deps, stream: c.CLAIMTRAIL_STREAM }, claimId);
        if (opts.json) ctx.out(JSON.stringify(s));
        else {
          ctx.out(`claim ${s.claimId} (${s.events.length} events, ledger of ${s.schema})`);
          for (const e of s.events) {
            ctx.out(`seq ${e.seq}  ${e.type ?? '(undecodable)'}  by ${e.actor ?? '?'}  at ${e.recordedAt ?? '?'}`);
            if (e.report)
              ctx.out(`    report ${e.reportId}: ${e.report.publisher}, ${e.report.publishedAt}, ${e.report.url}`);
            if (e.changes !== undefined) ctx.out(`    changes ${JSON.stringify(e.changes)}`);
            if (e.reason !== undefined) ctx.out(`    reason ${JSON.stringify(e.reason)}`);
            ctx.out(
              `    chain ${e.chainHash} ${e.chainOk ? 'follows from its predecessor' : 'DOES NOT follow from its predecessor'}; stream: ${e.stream}`,
            );
          }
        }
        if (!s.ok) process.exitCode = 1;
      } finally {
        await close();
      }
    });
}
