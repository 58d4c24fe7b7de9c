// Answers that cost no statement (a page of the shared topics, a lane's refusal) are paced: at most
// `perTurn` of them each turn of the event loop, in arrival order. Unpaced, a flood of such
// requests is answered in bursts as large as the flood (1,500 connections: all 1,500 at each
// wake-up of the shared read they wait on), and every other request's next step waits behind
// the whole burst: a history read took 300-900 ms with 1,500 connections asking for /v1/topics,
// against 5 ms without. Paced, a turn stays short, other requests' steps run between turns, and a
// client that asks again as soon as it is answered asks no faster than the pace.

export interface AnswerPacer {
  /** Resolves when this answer's turn comes. */
  turn(): Promise<void>;
  /** Answers waiting for their turn now. */
  readonly waiting: number;
}

export function createAnswerPacer(perTurn = 32): AnswerPacer {
  let queue: (() => void)[] = [];
  let head = 0;
  let scheduled = false;

  function drain() {
    scheduled = false;
    const end = Math.min(queue.length, head + perTurn);
    while (head < end) queue[head++]!();
    if (head === queue.length) {
      queue = [];
      head = 0;
    } else {
      // A flood that never lets the queue empty must not grow it for ever.
      if (head > 1024) {
        queue = queue.slice(head);
        head = 0;
      }
      schedule();
    }
  }
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    setImmediate(drain);
  }

  return {
    turn() {
      return new Promise<void>((resolve) => {
        queue.push(resolve);
        schedule();
      });
    },
    get waiting() {
      return queue.length - head;
    },
  };
}
