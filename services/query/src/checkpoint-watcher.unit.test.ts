import { describe, expect, it } from 'vitest';
import { createCheckpointWatcher } from './checkpoint-watcher.ts';

/** A checkpoint that moves when told, counting its reads. */
function checkpoint(start = 0) {
  let seq = start;
  let reads = 0;
  return {
    read: () => {
      reads += 1;
      return Promise.resolve(seq);
    },
    move: (to: number) => (seq = to),
    get reads() {
      return reads;
    },
  };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the checkpoint watcher', () => {
  it('reads nothing while nobody waits or listens', async () => {
    const cp = checkpoint();
    const w = createCheckpointWatcher({ read: cp.read, waitingPollMs: 5, listeningPollMs: 5 });
    await sleep(50);
    expect(cp.reads).toBe(0);
    w.close();
  });

  it('answers minSeq waits once the seq is applied, and times out with a 503 otherwise', async () => {
    const cp = checkpoint(3);
    const w = createCheckpointWatcher({ read: cp.read, waitingPollMs: 5, maxWaitMs: 200 });
    expect(await w.waitFor(2)).toBe(3);
    const later = w.waitFor(7);
    setTimeout(() => cp.move(8), 30);
    expect(await later).toBe(8);
    await expect(w.waitFor(100)).rejects.toMatchObject({ retryAfterS: 1 });
    // With nobody waiting any more, the reads stop (after the tick already under way).
    await sleep(30);
    const reads = cp.reads;
    await sleep(50);
    expect(cp.reads).toBe(reads);
    w.close();
  });

  it('tells listeners the seq now and when it changes, and both are fed by one loop', async () => {
    const cp = checkpoint(1);
    const w = createCheckpointWatcher({ read: cp.read, waitingPollMs: 5, listeningPollMs: 10 });
    const a: number[] = [];
    const b: number[] = [];
    const offA = w.subscribe((s) => a.push(s));
    await sleep(30);
    w.subscribe((s) => b.push(s));
    cp.move(2);
    expect(await w.waitFor(2)).toBe(2);
    await sleep(40);
    expect(a).toEqual([1, 2]);
    expect(b).toEqual([1, 2]);
    offA();
    expect(w.listeners).toBe(1);
    w.close();
    const reads = cp.reads;
    await sleep(40);
    expect(cp.reads).toBe(reads);
  });

  it('keeps going after a failed read', async () => {
    let fail = true;
    const w = createCheckpointWatcher({
      read: () => (fail ? Promise.reject(new Error('Postgres is restarting')) : Promise.resolve(5)),
      waitingPollMs: 5,
      maxWaitMs: 1000,
    });
    const p = w.waitFor(5);
    setTimeout(() => (fail = false), 30);
    expect(await p).toBe(5);
    w.close();
  });
});
