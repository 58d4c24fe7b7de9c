import { createChainWalker } from '@claimtrail/shared/chain';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { TOPIC_RE } from '@claimtrail/shared/events';
import { GENESIS_HASH } from '@claimtrail/shared/identity';
import { AuditError } from './audit-error.ts';
import { EXPORT_FORMAT, lineOf, type ExportManifest, type StreamDeps } from './export-format.ts';
import { createProgress, type ProgressSink } from './progress.ts';
import { readStream, streamBounds } from './stream-reader.ts';

async function write(out: Writable, s: string) {
  if (!out.write(s)) await once(out, 'drain');
}

/**
 * Writes the stream (or one topic's claim events) as NDJSON: one message a line in seq order,
 * then a manifest line. Reads in batches, writes with back-pressure: memory stays flat.
 */
export async function runExport(
  deps: StreamDeps,
  o: {
    topic?: string;
    fromSeq?: number;
    batchSize: number;
    out: Writable;
    progress?: { sink?: ProgressSink; quiet?: boolean };
  },
): Promise<ExportManifest> {
  if (o.topic !== undefined && !TOPIC_RE.test(o.topic))
    throw new AuditError(`--topic ${JSON.stringify(o.topic)}: must be a topic slug such as dprk-troops-in-russia`, {
      usage: true,
    });
  const fromSeq = Math.max(1, o.fromSeq ?? 1);
  const bounds = await streamBounds(deps.nc, deps.stream);
  const progress = createProgress('export', Math.max(0, bounds.lastSeq - fromSeq + 1), o.progress ?? {});
  let chain = GENESIS_HASH;
  const walker = createChainWalker(chain);
  let count = 0;
  let firstSeq: number | null = null;
  let lastSeq: number | null = null;
  let contiguous = true;
  for await (const batch of readStream(deps.nc, {
    stream: deps.stream,
    subjectPrefix: deps.subjectPrefix,
    fromSeq,
    toSeq: bounds.lastSeq,
    batchSize: o.batchSize,
    ...(o.topic === undefined ? {} : { filterSubjects: [`${deps.subjectPrefix}.claim.${o.topic}.>`] }),
  })) {
    let text = '';
    for (const m of batch) {
      if (lastSeq !== null ? m.seq !== lastSeq + 1 : m.seq !== 1) contiguous = false;
      firstSeq ??= m.seq;
      lastSeq = m.seq;
      chain = walker.step(m.payload);
      count += 1;
      text += `${lineOf(m)}\n`;
    }
    await write(o.out, text);
    progress.update(batch[batch.length - 1]!.seq - fromSeq + 1);
  }
  const manifest: ExportManifest = {
    format: EXPORT_FORMAT,
    stream: deps.stream,
    subjectPrefix: deps.subjectPrefix,
    topic: o.topic ?? null,
    fromSeq,
    count,
    firstSeq,
    lastSeq,
    chainHash: chain,
    complete: o.topic === undefined && fromSeq === 1 && contiguous && lastSeq === bounds.lastSeq,
    exportedAt: new Date().toISOString(),
  };
  await write(o.out, `${JSON.stringify({ manifest })}\n`);
  progress.finish();
  return manifest;
}
