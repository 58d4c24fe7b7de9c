import type { Command } from 'commander';
import { runImport } from '@claimtrail/audit';
import { openNats } from '../runtime.ts';
import { usageExit, type CommandContext } from '../command-context.ts';

/** `claimtrail import file.ndjson`: a complete, verified export into an empty stream. */
export function registerImport(program: Command, ctx: CommandContext): void {
  program
    .command('import')
    .exitOverride(usageExit)
    .description(
      'load a complete export into an EMPTY stream ($CLAIMTRAIL_STREAM, created when missing) at the same seqs; refuses a file that does not verify and a stream that is not empty',
    )
    .argument('<file>', 'an export written by `claimtrail export`')
    .option('--json', 'print the result as JSON', false)
    .action(async (file: string, opts: { json: boolean }) => {
      const c = ctx.config();
      const nc = await openNats(c, 'claimtrail-import');
      try {
        const r = await runImport(
          {
            nc,
            stream: c.CLAIMTRAIL_STREAM,
            subjectPrefix: c.CLAIMTRAIL_SUBJECT_PREFIX,
            duplicateWindowS: c.CLAIMTRAIL_DUPLICATE_WINDOW_S,
            replicas: c.CLAIMTRAIL_REPLICAS,
          },
          file,
        );
        if (opts.json) ctx.out(JSON.stringify(r));
        else
          ctx.out(
            `imported ${r.imported} events into ${r.stream} (seq 1..${r.lastSeq}), chain hash ${r.chainHash}; run \`claimtrail migrate --identities\` to build its identity index, then the projector (or \`claimtrail serve\`) to build the read models`,
          );
      } finally {
        await nc.close();
      }
    });
}
