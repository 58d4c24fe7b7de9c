import type { VerifyReport } from './verify.ts';

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
/** A reason on one line, whatever Postgres or a decoder put in it. */
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/** The human report: one line per check, then the first differences with their seqs. */
export function formatVerifyReport(r: VerifyReport): string[] {
  const mark = (ok: boolean) => (ok ? '[ok]  ' : '[FAIL]');
  const lines = [
    `audit verify: stream ${r.stream.name} seq ${r.stream.firstSeq}..${r.stream.lastSeq}, live schema ${r.liveSchema} at checkpoint ${r.checkpoint.lastSeq}, from seq ${r.fromSeq}`,
  ];
  lines.push(
    `${mark(r.chain.ok)} chain: ${r.chain.recomputed} events recomputed from the stream; ${r.chain.mismatches === 0 ? 'every ledger hash matches' : `${r.chain.mismatches} ledger hashes differ, first at seq ${r.chain.firstMismatchSeq}`}; final ${r.chain.finalHash}`,
  );
  for (const d of r.chain.differences) lines.push(`         seq ${d.seq}: ${d.detail}`);
  const l = r.ledger;
  lines.push(
    `${mark(l.ok)} ledger: ${l.compared} seqs compared; ${l.missingFromLedger} missing from the ledger, ${l.missingFromStream} missing from the stream, ${l.changed} changed, ${l.outOfOrder} out of order, ${l.brokenLinks} broken links${l.other ? `, ${l.other} other` : ''}${l.notYetProjected ? ` (${l.notYetProjected} not yet projected)` : ''}`,
  );
  for (const d of l.differences) lines.push(`         seq ${d.seq}: ${d.kind}: ${d.detail}`);
  const rm = r.readModels;
  if (rm.skipped) lines.push(`[ok]   read models: not compared (${rm.reason})`);
  else {
    const bad = rm.tables.filter((t) => t.differing > 0);
    lines.push(
      `${mark(rm.ok)} read models vs a replay to seq ${rm.atSeq} (${rm.scratchSchema}): ${bad.length === 0 ? `all ${rm.tables.length} tables equal` : `${bad.length} of ${rm.tables.length} tables differ`}`,
    );
    for (const t of rm.tables) {
      const head = `         ${t.table}: ${t.liveRows} live / ${t.replayRows} replayed rows, digest ${t.liveDigest.slice(0, 12)}${t.differing ? ` vs ${t.replayDigest.slice(0, 12)}, ${t.differing} rows differ` : ' equal'}`;
      lines.push(head);
      for (const d of t.firstDifferences) {
        const key = Object.entries(d.key)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ');
        lines.push(
          `           seq ${d.seq ?? '?'}: ${key}: ${d.kind === 'changed' ? 'values differ' : d.kind === 'only-live' ? 'only in the live schema' : 'missing from the live schema'}`,
        );
      }
    }
  }
  const rp = r.repeats;
  lines.push(
    rp.count === 0
      ? '[ok]   repeats: none'
      : `[ok]   repeats: ${plural(rp.count, 'message repeats an earlier event', 'messages repeat earlier events')} and ${rp.count === 1 ? 'was' : 'were'} not applied again:`,
  );
  for (const e of rp.events) lines.push(`         seq ${e.seq} repeats seq ${e.firstSeq} (event ${e.eventId})`);
  // Last before the verdict, so that it is not scrolled away by the read-model tables.
  const pk = r.parked;
  if (pk.count === 0) lines.push('[ok]   parked: none');
  else {
    lines.push(
      `${pk.ok ? '[WARN]' : '[FAIL]'} parked: ${plural(pk.count, 'event is', 'events are')} NOT APPLIED to the read models (set aside in dead_letters)${pk.failOnParked ? '' : '; --fail-on-parked makes this a failure'}:`,
    );
    for (const e of pk.events)
      lines.push(
        `         seq ${e.seq}  ${e.type ?? '(undecodable)'}  claim ${e.claimId ?? '-'}  event ${e.eventId ?? '-'}: ${oneLine(e.reason)}`,
      );
  }
  const parkedNote = `${plural(pk.count, 'parked event')} not applied`;
  lines.push(
    r.verdict === 'holds'
      ? 'audit verify: everything holds'
      : r.verdict === 'holds-with-parked'
        ? `audit verify: holds, with ${parkedNote} (listed above)`
        : pk.count > 0
          ? `audit verify: FAILED (${parkedNote})`
          : 'audit verify: FAILED',
  );
  return lines;
}
