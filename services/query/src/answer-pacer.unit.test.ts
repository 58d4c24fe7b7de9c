import { describe, expect, it } from 'vitest';
import { createAnswerPacer } from './answer-pacer.ts';

describe('the answer pacer', () => {
  it('lets at most perTurn answers through a turn of the event loop, in arrival order', async () => {
    const pacer = createAnswerPacer(3);
    const order: number[] = [];
    const turns: number[] = [];
    let turn = 0;
    const counter = () => {
      turn++;
      if (pacer.waiting > 0) setImmediate(counter);
    };
    const all = Array.from({ length: 10 }, (_, i) =>
      pacer.turn().then(() => {
        order.push(i);
        turns.push(turn);
      }),
    );
    expect(pacer.waiting).toBe(10);
    setImmediate(counter);
    await Promise.all(all);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Ten answers at three a turn: four turns, no more than three in any.
    const perTurn = new Map<number, number>();
    for (const t of turns) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
    expect([...perTurn.values()].every((n) => n <= 3)).toBe(true);
    expect(perTurn.size).toBe(4);
    expect(pacer.waiting).toBe(0);
  });

  it('lets other work run between turns', async () => {
    const pacer = createAnswerPacer(1);
    const events: string[] = [];
    const answers = Array.from({ length: 3 }, (_, i) => pacer.turn().then(() => events.push(`answer ${i}`)));
    setImmediate(() => events.push('other'));
    await Promise.all(answers);
    expect(events.indexOf('other')).toBeGreaterThan(0);
    expect(events.indexOf('other')).toBeLessThan(3);
  });
});
