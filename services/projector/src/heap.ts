// The projector's V8 heap, in one place for its process (node flags, main.ts) and for the worker
// thread `claimtrail serve` runs it on (resource limits, services/cli/src/commands/serve.ts).
// No imports: main.ts reads it before it re-executes itself with the flags.
//
// Measured over 1,000,000 events (README, performance): V8's defaults let the process sit at
// 350-370 MB; 192 MB old space with 8 MB semi-spaces held it at 157-172 MB but made the collector
// run often enough to cost ~10 % of the catch-up's CPU. V8 starts marking the old space once the
// room left under its limit is less than the young generation can promote, and about 40 MB stays
// live while batches are in flight. With 96 MB of old space and 32 MB semi-spaces that room was
// gone as soon as a mark-compact ended, so marking ran back to back: 15 mark-compacts in a 100k
// catch-up, a third of the projector's CPU on its main and helper threads together. 128 MB of old
// space and 16 MB semi-spaces: 6-7 of them (scavenges double, each cheaper), projector CPU -9 % per
// event over 6 alternating A/B rounds, peak RSS 250-268 MB (eleventh session; bench/HISTORY.md).
const heap = { maxOldSpaceMb: 384, semiSpaceMb: 16, initialOldSpaceMb: 128 };

/**
 * The node flags of the projector process. `--no-parallel-scavenge`: a young collection runs on
 * the main thread alone. On two cores shared with Postgres, the helper threads of a parallel one
 * took CPU from Postgres and waited for each other; alone, the machine did ~3 % less work an
 * event and the catch-up won 8 of 9 A/B rounds (bench/HISTORY.md: eleventh session). A flag of
 * the whole process, so `claimtrail serve`, whose projector is a thread, keeps V8's default.
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
