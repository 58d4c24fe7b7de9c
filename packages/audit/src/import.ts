import { headers } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { provisionStream } from '@claimtrail/shared/nats';
import { AuditError } from './audit-error.ts';
import { payloadOf, type StreamDeps } from './export-format.ts';
import { createProgress, type ProgressSink } from './progress.ts';
import { streamBounds } from './stream-reader.ts';
import { scanExport, verifyExport } from './verify-export.ts';

export interface ImportResult {
  stream: string;
  imported: number;
  lastSeq: number;
  chainHash: string;
}

/**
 * Loads a complete export into an empty stream, seq for seq: each publish expects the previous
 * seq, so the new stream holds the same events at the same seqs (subjects move to this
 * deployment's prefix). Refuses a file whose manifest does not verify, and a stream that has
 * anything in it.
 */
export async function runImport(
  deps: StreamDeps & { duplicateWindowS: number; replicas?: number },
  file: string,
  o: { progress?: { sink?: ProgressSink; quiet?: boolean } } = {},
): Promise<ImportResult> {
  const check = await verifyExport(file);
  if (!check.ok)
    throw new AuditError(
      `${file} does not verify, nothing imported: ${check.problems.map((p) => `line ${p.line}: ${p.detail}`).join('; ')}`,
    );
  if (!check.manifest?.complete)
    throw new AuditError(`${file} is a partial export (topic or --from-seq): only a complete export can be imported`);
  await provisionStream(deps.nc, {
    stream: deps.stream,
    subjectPrefix: deps.subjectPrefix,
    duplicateWindowS: deps.duplicateWindowS,
    ...(deps.replicas === undefined ? {} : { replicas: deps.replicas }),
  });
  const before = await streamBounds(deps.nc, deps.stream);
  if (before.messages > 0 || before.lastSeq > 0)
    throw new AuditError(
      `stream ${deps.stream} is not empty (last seq ${before.lastSeq}): import loads into an empty stream only (set CLAIMTRAIL_STREAM)`,
    );
  const js = jetstream(deps.nc, { timeout: 30_000 });
  const from = check.manifest.subjectPrefix;
  const progress = createProgress(`import ${deps.stream}`, check.count, o.progress ?? {});
  const inFlight = new Set<Promise<unknown>>();
  let failure: Error | undefined;
  let done = 0;
  await scanExport(file, async (line) => {
    if (failure) throw failure;
    const subject = line.subject.startsWith(`${from}.`)
      ? `${deps.subjectPrefix}.${line.subject.slice(from.length + 1)}`
      : line.subject;
    const h = headers();
    const type = (line.event as { type?: unknown } | null)?.type;
    if (typeof type === 'string') h.set('Claimtrail-Type', type);
    const p: Promise<unknown> = js
      .publish(subject, payloadOf(line), { headers: h, expect: { lastSequence: line.seq - 1 } })
      .then(() => {
        done += 1;
        progress.update(done);
      })
      .catch((err: unknown) => {
        failure ??= new AuditError(`import stopped at seq ${line.seq}: ${(err as Error).message}`);
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= 256) await Promise.race(inFlight);
  });
  await Promise.all(inFlight);
  if (failure) throw failure;
  const after = await streamBounds(deps.nc, deps.stream);
  if (after.lastSeq !== check.lastSeq)
    throw new AuditError(`after import the stream ends at seq ${after.lastSeq}, the export at ${check.lastSeq}`);
  progress.finish();
  return { stream: deps.stream, imported: done, lastSeq: after.lastSeq, chainHash: check.chainHash };
}
