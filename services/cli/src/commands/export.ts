import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Command } from 'commander';
import { runExport } from '@claimtrail/audit';
import { openAuditDeps, positiveInt, type CommandContext, usageExit } from '../command-context.ts';

/** `claimtrail export [--topic T] [--from-seq N] > file.ndjson`. */
export function registerExport(program: Command, ctx: CommandContext): void {
  program
    .command('export')
    .exitOverride(usageExit)
    .description(
      'write the stream as NDJSON: one event envelope a line in seq order (with seq and subject), then a manifest line (count, first/last seq, final chain hash)',
    )
    .option('--topic <topic>', "only that topic's claim events (a partial export: it verifies, but cannot be imported)")
    .option('--from-seq <n>', 'start at this seq (a partial export)', positiveInt('--from-seq'))
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .option('--json', 'print the manifest as JSON (on stderr when the export goes to stdout)', false)
    .addHelpText(
      'after',
      '\nExample:\n  claimtrail export > claimtrail.ndjson && claimtrail verify-export claimtrail.ndjson',
    )
    .action(async (opts: { topic?: string; fromSeq?: number; output?: string; json: boolean }) => {
      const c = ctx.config();
      const { deps, close } = await openAuditDeps(c, 'claimtrail-export');
      const file = opts.output === undefined ? undefined : createWriteStream(opts.output);
      try {
        const m = await runExport(deps, {
          ...(opts.topic === undefined ? {} : { topic: opts.topic }),
          ...(opts.fromSeq === undefined ? {} : { fromSeq: opts.fromSeq }),
          batchSize: c.CLAIMTRAIL_BATCH_SIZE,
          out: file ?? process.stdout,
        });
        if (file) {
          file.end();
          await once(file, 'finish');
        }
        const summary = opts.json
          ? JSON.stringify(m)
          : `exported ${m.count} events (seq ${m.firstSeq ?? '-'}..${m.lastSeq ?? '-'}), chain hash ${m.chainHash}${m.complete ? '' : ' (partial)'}`;
        if (file) ctx.out(summary);
        else process.stderr.write(`${summary}\n`);
      } finally {
        await close();
      }
    });
}
