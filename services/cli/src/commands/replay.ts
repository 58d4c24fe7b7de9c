import type { Command } from 'commander';
import { runReplay } from '@claimtrail/audit';
import { openAuditDeps, positiveInt, instantArg, type CommandContext, usageExit } from '../command-context.ts';

/** `claimtrail replay --into <schema> [--to-seq N | --to-time T] [--promote]`. */
export function registerReplay(program: Command, ctx: CommandContext): void {
  program
    .command('replay')
    .exitOverride(usageExit)
    .description(
      "fold the stream from seq 1 into a fresh read-model schema with the projector's own code; resumable (continues from that schema's checkpoint); --promote makes it the live schema in one transaction",
    )
    .requiredOption(
      '--into <schema>',
      'target Postgres schema (created and migrated when missing), e.g. claimtrail_rm_2',
    )
    .option('--to-seq <n>', 'stop after this stream seq', positiveInt('--to-seq'))
    .option('--to-time <instant>', 'fold only what was known at this instant (RFC 3339)', instantArg('--to-time'))
    .option(
      '--promote',
      'after the replay caught up, switch the query service and projector to the schema (no restart)',
      false,
    )
    .option(
      '--rule <id>',
      'normalisation rule of a fresh schema (default: $CLAIMTRAIL_APPROX_RULE); a schema keeps the rule it was first folded with',
    )
    .option('--batch-size <n>', 'events per transaction (default: $CLAIMTRAIL_BATCH_SIZE)', positiveInt('--batch-size'))
    .option('--json', 'print the result as JSON', false)
    .addHelpText(
      'after',
      '\nExamples:\n  claimtrail replay --into claimtrail_rm_2\n  CLAIMTRAIL_APPROX_RULE=approx-10pct@1 claimtrail replay --into claimtrail_rm_10pct --promote\n  claimtrail replay --into claimtrail_feb --to-time 2025-02-28T00:00:00Z',
    )
    .action(
      async (opts: {
        into: string;
        toSeq?: number;
        toTime?: string;
        promote: boolean;
        rule?: string;
        batchSize?: number;
        json: boolean;
      }) => {
        if (opts.toSeq !== undefined && opts.toTime !== undefined) {
          process.stderr.write('claimtrail replay: give --to-seq or --to-time, not both\n');
          process.exitCode = 2;
          return;
        }
        const c = ctx.config();
        const { deps, close } = await openAuditDeps(c, 'claimtrail-replay');
        try {
          const r = await runReplay(deps, {
            into: opts.into,
            ...(opts.toSeq === undefined ? {} : { toSeq: opts.toSeq }),
            ...(opts.toTime === undefined ? {} : { toTime: opts.toTime }),
            promote: opts.promote,
            ...(opts.rule === undefined ? {} : { rule: opts.rule }),
            defaultRule: c.CLAIMTRAIL_APPROX_RULE,
            batchSize: opts.batchSize ?? c.CLAIMTRAIL_BATCH_SIZE,
          });
          if (opts.json) ctx.out(JSON.stringify(r));
          else {
            ctx.out(
              `replayed into ${r.schema} with rule ${r.rule}: seq ${r.resumedFromSeq + 1}..${r.lastSeq} (${r.folded} events, ${r.parked} parked) in ${(r.elapsedMs / 1000).toFixed(1)}s, ${r.eventsPerSecond} events/s; stopped at ${r.stoppedBy}`,
            );
            ctx.out(`checkpoint seq ${r.lastSeq}, chain hash ${r.chainHash}`);
            if (r.promoted)
              ctx.out(
                `promoted: the live read models are now ${r.promoted.to} (were ${r.promoted.from ?? 'unset'}) at ${r.promoted.at}`,
              );
          }
        } finally {
          await close();
        }
      },
    );
}
