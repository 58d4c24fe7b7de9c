import { createChainWalker } from '@claimtrail/shared/chain';
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { GENESIS_HASH } from '@claimtrail/shared/identity';
import { AuditError } from './audit-error.ts';
import { EXPORT_FORMAT, payloadOf, type ExportLine, type ExportManifest } from './export-format.ts';
import { createProgress, type ProgressSink } from './progress.ts';

export interface ExportCheck {
  ok: boolean;
  file: string;
  lines: number;
  count: number;
  firstSeq: number | null;
  lastSeq: number | null;
  chainHash: string;
  manifest: ExportManifest | null;
  problems: { line: number; detail: string }[];
}

/** Reads an export line by line; `onLine` sees each event line once it parsed. */
export async function scanExport(
  file: string,
  onLine?: (l: ExportLine, n: number) => Promise<void> | void,
  progress?: { sink?: ProgressSink; quiet?: boolean },
): Promise<ExportCheck> {
  let input: ReturnType<typeof createReadStream>;
  try {
    input = createReadStream(file, { encoding: 'utf8' });
    await once(input, 'open');
  } catch (err) {
    throw new AuditError(`cannot read ${file}: ${(err as Error).message}`, { usage: true });
  }
  const rl = createInterface({ input, crlfDelay: Infinity });
  const problems: ExportCheck['problems'] = [];
  const problem = (line: number, detail: string) => {
    if (problems.length < 20) problems.push({ line, detail });
  };
  let n = 0;
  let count = 0;
  let chain = GENESIS_HASH;
  const walker = createChainWalker(chain);
  let firstSeq: number | null = null;
  let lastSeq: number | null = null;
  let manifest: ExportManifest | null = null;
  let contiguous = true;
  const bar = createProgress(`read ${file}`, 0, progress ?? { quiet: true });
  for await (const text of rl) {
    n += 1;
    if (text.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      problem(n, 'not JSON');
      continue;
    }
    if (manifest !== null) {
      problem(n, 'a line after the manifest');
      continue;
    }
    const rec = v as Partial<ExportLine> & { manifest?: ExportManifest };
    if (rec.manifest !== undefined) {
      manifest = rec.manifest;
      continue;
    }
    if (
      typeof rec.seq !== 'number' ||
      !Number.isSafeInteger(rec.seq) ||
      rec.seq < 1 ||
      typeof rec.subject !== 'string' ||
      !('event' in rec)
    ) {
      problem(n, 'not an export line: needs seq, subject and event');
      continue;
    }
    if (rec.payload !== undefined && typeof rec.payload !== 'string') {
      problem(n, 'payload must be a string');
      continue;
    }
    if (lastSeq !== null && rec.seq <= lastSeq) problem(n, `seq ${rec.seq} is not after seq ${lastSeq}: out of order`);
    if (lastSeq !== null ? rec.seq !== lastSeq + 1 : rec.seq !== 1) contiguous = false;
    const line = rec as ExportLine;
    firstSeq ??= line.seq;
    lastSeq = line.seq;
    count += 1;
    chain = walker.step(payloadOf(line));
    if (onLine) await onLine(line, n);
    bar.update(count);
  }
  bar.finish();
  if (manifest === null) problem(n, 'no manifest line at the end: the file is cut short');
  else {
    if (manifest.format !== EXPORT_FORMAT) problem(n, `unknown format ${JSON.stringify(manifest.format)}`);
    if (manifest.count !== count) problem(n, `the manifest counts ${manifest.count} events, the file holds ${count}`);
    if (manifest.firstSeq !== firstSeq)
      problem(n, `the manifest's first seq is ${manifest.firstSeq}, the file's ${firstSeq}`);
    if (manifest.lastSeq !== lastSeq)
      problem(n, `the manifest's last seq is ${manifest.lastSeq}, the file's ${lastSeq}`);
    if (manifest.chainHash !== chain)
      problem(n, `the manifest's chain hash ${manifest.chainHash} differs from the recomputed ${chain}`);
    if (manifest.complete && !contiguous)
      problem(n, 'the manifest says complete, but seqs are not 1, 2, 3, … without gaps');
  }
  return { ok: problems.length === 0, file, lines: n, count, firstSeq, lastSeq, chainHash: chain, manifest, problems };
}

/** `claimtrail verify-export`: recomputes the chain and checks the manifest. No NATS, no Postgres. */
export async function verifyExport(
  file: string,
  progress?: { sink?: ProgressSink; quiet?: boolean },
): Promise<ExportCheck> {
  return scanExport(file, undefined, progress);
}
