// The projector's V8 heap, in one place for its process (node flags, main.ts) and for the worker
// thread `claimtrail serve` runs it on (resource limits, services/cli/src/commands/serve.ts).
// No imports: main.ts reads it before it re-executes itself with the flags.
//
// Measured over 1,000,000 events (README, performance): V8's defaults let the process sit at
// 350-370 MB; 192 MB old space with 8 MB semi-spaces held it at 157-172 MB but made the collector
// run often enough to cost ~10 % of the catch-up's CPU. 32 MB semi-spaces (16 before) let most
// of a batch die young while five batches are in flight: projector CPU -7 %, peak ~215 MB. With
// the old space starting at 96 MB, V8 stops running a full collection every second scavenge
// (~35 MB live, the default limit just above it): CPU -10 %, catch-up +6 %, peak ~235 MB.
const heap = { maxOldSpaceMb: 384, semiSpaceMb: 32, initialOldSpaceMb: 96 };

/** The node flags of the projector process. */
export const projectorHeapFlags = [
  `--max-old-space-size=${heap.maxOldSpaceMb}`,
  `--max-semi-space-size=${heap.semiSpaceMb}`,
  `--initial-old-space-size=${heap.initialOldSpaceMb}`,
];

/**
 * The same limits for a worker thread. A worker has no initial old-space setting; V8's young
 * generation is three semi-spaces (two, and the space for new large objects).
 */
export const projectorWorkerLimits = {
  maxOldGenerationSizeMb: heap.maxOldSpaceMb,
  maxYoungGenerationSizeMb: 3 * heap.semiSpaceMb,
};
