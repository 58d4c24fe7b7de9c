import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import type { NatsConnection } from '@nats-io/transport-node';
import { headers } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { canonicalJson, TOPIC_RE } from '@claimtrail/shared/events';
import { chainHash, GENESIS_HASH } from '@claimtrail/shared/identity';
import { provisionStream } from '@claimtrail/shared/nats';
import { CliError } from '../runtime.ts';
import { createProgress, type ProgressSink } from './progress.ts';
import { readStream, streamBounds } from './stream-reader.ts';

export const EXPORT_FORMAT = 'claimtrail-export@1';

/** One line of an export: the stream message. `payload` is given only when it is not the canonical JSON of `event`. */
export interface ExportLine {
  seq: number;
  subject: string;
  event: unknown;
  payload?: string;
}

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  stream: string;
  subjectPrefix: string;
  /** Set when only one topic's claim events were exported. */
  topic: string | null;
  fromSeq: number;
  count: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** `sha256(prev ‖ canonical event)` over the exported events from the genesis hash. */
  chainHash: string;
  /** True when the file holds every message of the stream from seq 1 (an import needs that). */
  complete: boolean;
  exportedAt: string;
}

interface StreamDeps {
  nc: NatsConnection;
  stream: string;
  subjectPrefix: string;
}

function lineOf(m: { seq: number; subject: string; payload: string }): string {
  let event: unknown;
  try {
    event = JSON.parse(m.payload);
  } catch {
    return JSON.stringify({ seq: m.seq, subject: m.subject, event: null, payload: m.payload });
  }
  const exact = canonicalJson(event) === m.payload;
  return JSON.stringify(
    exact ? { seq: m.seq, subject: m.subject, event } : { seq: m.seq, subject: m.subject, event, payload: m.payload },
  );
}

/** The bytes the stream held: the raw payload when kept, else the canonical JSON of the event. */
export function payloadOf(l: ExportLine): string {
  return l.payload ?? canonicalJson(l.event);
}

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
    throw new CliError(`--topic ${JSON.stringify(o.topic)}: must be a topic slug such as dprk-troops-in-russia`, 2);
  const fromSeq = Math.max(1, o.fromSeq ?? 1);
  const bounds = await streamBounds(deps.nc, deps.stream);
  const progress = createProgress('export', Math.max(0, bounds.lastSeq - fromSeq + 1), o.progress ?? {});
  let chain = GENESIS_HASH;
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
      chain = chainHash(chain, m.payload);
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
async function scanExport(
  file: string,
  onLine?: (l: ExportLine, n: number) => Promise<void> | void,
  progress?: { sink?: ProgressSink; quiet?: boolean },
): Promise<ExportCheck> {
  let input: ReturnType<typeof createReadStream>;
  try {
    input = createReadStream(file, { encoding: 'utf8' });
    await once(input, 'open');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, 2);
  }
  const rl = createInterface({ input, crlfDelay: Infinity });
  const problems: ExportCheck['problems'] = [];
  const problem = (line: number, detail: string) => {
    if (problems.length < 20) problems.push({ line, detail });
  };
  let n = 0;
  let count = 0;
  let chain = GENESIS_HASH;
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
    chain = chainHash(chain, payloadOf(line));
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
    throw new CliError(
      `${file} does not verify, nothing imported: ${check.problems.map((p) => `line ${p.line}: ${p.detail}`).join('; ')}`,
    );
  if (!check.manifest?.complete)
    throw new CliError(`${file} is a partial export (topic or --from-seq): only a complete export can be imported`);
  await provisionStream(deps.nc, {
    stream: deps.stream,
    subjectPrefix: deps.subjectPrefix,
    duplicateWindowS: deps.duplicateWindowS,
    ...(deps.replicas === undefined ? {} : { replicas: deps.replicas }),
  });
  const before = await streamBounds(deps.nc, deps.stream);
  if (before.messages > 0 || before.lastSeq > 0)
    throw new CliError(
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
        failure ??= new CliError(`import stopped at seq ${line.seq}: ${(err as Error).message}`);
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= 256) await Promise.race(inFlight);
  });
  await Promise.all(inFlight);
  if (failure) throw failure;
  const after = await streamBounds(deps.nc, deps.stream);
  if (after.lastSeq !== check.lastSeq)
    throw new CliError(`after import the stream ends at seq ${after.lastSeq}, the export at ${check.lastSeq}`);
  progress.finish();
  return { stream: deps.stream, imported: done, lastSeq: after.lastSeq, chainHash: check.chainHash };
}
