import type { Command } from 'commander';
import { verifyExport } from '@claimtrail/audit';
import { usageExit, type CommandContext } from '../command-context.ts';

/** `claimtrail verify-export file.ndjson`: offline, no NATS and no Postgres. */
export function registerVerifyExport(program: Command, ctx: CommandContext): void {
  program
    .command('verify-export')
    .exitOverride(usageExit)
    .description(
      'check an export offline (no NATS, no Postgres): every line parses, seqs increase, and count, first/last seq and the chain hash match the manifest',
    )
    .argument('<file>', 'an export written by `claimtrail export`')
    .option('--json', 'print the result as JSON', false)
    .action(async (file: string, opts: { json: boolean }) => {
      const r = await verifyExport(file, process.stderr.isTTY ? {} : { quiet: true });
      if (opts.json) ctx.out(JSON.stringify(r));
      else {
        ctx.out(`${file}: ${r.count} events, seq ${r.firstSeq ?? '-'}..${r.lastSeq ?? '-'}, chain hash ${r.chainHash}`);
        for (const p of r.problems) ctx.out(`  line ${p.line}: ${p.detail}`);
        ctx.out(
          r.ok
            ? `verified: the manifest matches${r.manifest?.complete ? ' (a complete export)' : ' (a partial export)'}`
            : 'NOT verified',
        );
      }
      if (!r.ok) process.exitCode = 1;
    });
}
