import { describe, expect, it } from 'vitest';
import { serviceUrls } from '@claimtrail/shared/testing';
import { BenchContext, readConfig } from './context.ts';
import { Results } from './harness.ts';

describe('the bench context', () => {
  it('deletes a stream whose cleanup step was registered before the NATS connection was opened', async () => {
    const urls = await serviceUrls();
    const ctx = new BenchContext(
      { ...readConfig(true, 1), databaseUrl: urls.databaseUrl, natsUrl: urls.natsUrl },
      new Results(),
    );
    const name = `CTBENCH_${ctx.runId}_CONTEXT_TEST`;
    // As productEnv does: the step that deletes the product's stream comes first…
    ctx.onCleanup(`delete stream ${name}`, async () => {
      await (await ctx.jsm()).streams.delete(name);
    });
    // …and the connection is opened only when the stream is filled.
    const jsm = await ctx.jsm();
    await jsm.streams.add({ name, subjects: [`ctbench.${ctx.runId}.context.>`] });
    await ctx.cleanup();

    const check = new BenchContext({ ...readConfig(true, 1), natsUrl: urls.natsUrl }, new Results());
    try {
      const names: string[] = [];
      for await (const s of (await check.jsm()).streams.list()) names.push(s.config.name);
      expect(names).not.toContain(name);
    } finally {
      await (await check.jsm()).streams.delete(name).catch(() => undefined);
      await check.cleanup();
    }
  });
});
