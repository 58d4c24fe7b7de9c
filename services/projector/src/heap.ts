// The projector's V8 heap, in one place for its process (node flags, main.ts) and for the worker
// thread `claimtrail serve` runs it on (resource limits, services/cli/src/commands/serve.ts).
// No imports: main.ts reads it before it re-executes itself with the flags.
//
// 128 MB of initial old space and 16 MB semi-spaces keep V8 from marking back to back at
// about 40 MB live (docs/decisions/0004-projector-heap.md).
const heap = { maxOldSpaceMb: 384, semiSpaceMb: 16, initialOldSpaceMb: 128 };

/**
 * The node flags of the projector process. `--no-parallel-scavenge`: young collections on the main
 * thread alone, whose helper threads took CPU from Postgres on two cores
 * (docs/decisions/0004-projector-heap.md). A flag of the whole process, so `claimtrail serve`,
 * whose projector is a thread, keeps V8's default.
 */
export const projectorHeapFlags = [
  `--max-old-space-size=${heap.maxOldSpaceMb}`,
  `--max-semi-space-size=${heap.semiSpaceMb}`,
  `--initial-old-space-size=${heap.initialOldSpaceMb}`,
  '--no-parallel-scavenge',
];

/**
 * The same limits for a worker thread. A worker has no initial old-space setting; V8's young
 * generation is three semi-spaces (two, and the space for new large objects).
 */
export const projectorWorkerLimits = {
  maxOldGenerationSizeMb: heap.maxOldSpaceMb,
  maxYoungGenerationSizeMb: 3 * heap.semiSpaceMb,
};
