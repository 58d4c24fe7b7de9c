import { chainHashOfCanonical, canonicalEventText, GENESIS_HASH } from './identity.ts';

/**
 * The one walker of the hash chain: `chain_hash = sha256(previous chain hash ‖ canonical event)`
 * from GENESIS_HASH, over the events in seq order. The fold, the audit (verify, export, an
 * export's verification, a claim's story) and the query service's `/v1/events?verify=true` all
 * walk or check it through here.
 */
export interface ChainWalker {
  /** The hash after the last event walked (the start hash before any). */
  readonly head: string;
  /** Walks one event; `canonical` is its canonical text when the caller already has it. */
  step(payload: string, canonical?: string): string;
}

export function createChainWalker(start: string = GENESIS_HASH): ChainWalker {
  let head = start;
  return {
    get head() {
      return head;
    },
    step(payload, canonical) {
      head = chainHashOfCanonical(head, canonical ?? canonicalEventText(payload));
      return head;
    },
  };
}

/** Whether a stored hash follows from the hash before it (null: the first event) and the event. */
export function linkHolds(previous: string | null | undefined, payload: string, stored: string): boolean {
  return createChainWalker(previous ?? GENESIS_HASH).step(payload) === stored;
}
