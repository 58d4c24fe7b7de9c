import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { expectNoHarm, faultWorlds, runFault } from './harness/fault-run.ts';
import { STREAM, SUBJECT_PREFIX } from './harness/fault-world.ts';
import { createRetryingClient, histogram, type Answer } from './harness/load.ts';

const world = faultWorlds();

describe('nats-server fails under load', () => {
  it('SIGKILLed and restarted 3 s later: ingest answers 503 + Retry-After meanwhile, nothing acknowledged is lost', async () => {
    const w = await world({ label: 'nats-kill' });
    const [nats] = w.natsNodes;
    const run = await runFault({
      name: 'nats-sigkill-restart',
      world: w,
      async inject() {
        await nats!.kill('SIGKILL');
        await sleep(3000);
        await nats!.start();
      },
    });
    await w.close();
    expectNoHarm(run);
  });

  it('stopped (SIGSTOP) for 7 s then continued: ingest answers 503 + Retry-After meanwhile, nothing acknowledged is lost', async () => {
    const w = await world({ label: 'nats-pause' });
    const [nats] = w.natsNodes;
    const run = await runFault({
      name: 'nats-sigstop-7s',
      world: w,
      async inject() {
        nats!.pause();
        try {
          await sleep(7000);
        } finally {
          nats!.resume();
        }
      },
    });
    await w.close();
    expectNoHarm(run);
  });
});

describe('an undecodable message on a claim subject', () => {
  it('then a correction of that claim: 202, and the correction shows in GET /v1/claims/{id}', async () => {
    const w = await world({ label: 'undecodable' });
    const correctedQuote = 'corrected after an undecodable message';
    const answers: Answer[] = [];
    let claimId = '';
    let correction: { status: number | 'gave-up'; seq?: number } = { status: 'gave-up' };
    const run = await runFault({
      name: 'undecodable-then-correction',
      world: w,
      // The undecodable message itself, parked with its reason; nothing else.
      deadLetters: 1,
      async inject(ctx) {
        const claim = ctx.load.firstAcked();
        if (!claim) throw new Error('no claim was acknowledged during the warm-up');
        claimId = claim.claimId;
        const subject = `${SUBJECT_PREFIX}.claim.${claim.topic}.${claim.claimId}`;
        // A plain NATS publish, as anything with access to the subject could make: no JetStream checks.
        w.nc.publish(subject, 'not json');
        await w.nc.flush();
        const jsm = await jetstreamManager(w.nc);
        const stored = await jsm.streams.getMessage(STREAM, { last_by_subj: subject });
        ctx.note('undecodableSeq', stored?.seq ?? null);
        let stop = false;
        const post = createRetryingClient({
          baseUrl: w.ingestUrl,
          token: w.token,
          answers,
          requestTimeoutMs: 15_000,
          maxBackoffMs: 3000,
          giveUp: () => stop,
        });
        const out = await Promise.race([
          post(
            `/v1/claims/${claimId}/corrections`,
            { changes: { quote: correctedQuote }, reason: 'the fault suite corrects it' },
            `undecodable-correction-${claimId}`,
          ),
          sleep(30_000).then(() => ({ status: 'gave-up' as const })),
        ]);
        stop = true;
        correction = { status: out.status, ...('body' in out && out.status < 300 ? { seq: out.body.seq } : {}) };
        ctx.note('correction', { ...correction, answers: histogram(answers) });
        if (typeof out.status === 'number' && out.status < 300) ctx.expectedQuote.set(claimId, correctedQuote);
      },
    });
    const shown = await fetch(`${w.queryUrl}/v1/claims/${claimId}`, {
      headers: { authorization: `Bearer ${w.token}` },
    }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { claim?: { quote?: string }; revisions?: { type: string }[] },
    }));
    await w.close();
    expect
      .soft({
        correctionStatus: correction.status,
        readStatus: shown.status,
        quote: shown.body.claim?.quote,
        corrected: shown.body.revisions?.some((r) => r.type === 'ClaimCorrected') ?? false,
      })
      .toEqual({ correctionStatus: 202, readStatus: 200, quote: correctedQuote, corrected: true });
    expectNoHarm(run);
  });
});
