#!/usr/bin/env node
// The `claimtrail` command. Node 24 runs the TypeScript sources directly (type stripping).
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  process.stderr.write(
    `claimtrail needs Node.js 24 or newer (this is ${process.version}); run it through npm (npx claimtrail …) after npm ci, which brings Node 24.\n`,
  );
  process.exit(2);
}

// V8's compiled code of every module loaded from here on is kept on disk (keyed by the source, in
// the OS temp directory unless NODE_COMPILE_CACHE names one): a command starts in about 60 % of the
// time once it ran before (measured on a slow 2-core machine: loading the projector's modules
// 2.0 s without the cache, 1.25 s with it).
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();

// The long streaming commands get a small V8 heap. Their live data is flat (about 30 MB at any
// stream length: one batch, one ledger page), but each batch allocates several MB of short-lived
// strings (payloads, the JSON the projection store sends, the rows Postgres returns; the large
// ones go straight to the old generation), and with V8's defaults (a young generation of tens of
// MB, a full collection only near a 200 MB heap) that garbage is collected late: 330-400 MB
// resident at 100,000 events, over the 300 MB the audit must stay under. Either limit alone
// helped only partly. With these two limits V8 collects sooner and the process stays near 160 MB
// at any stream length, at some cost in GC time (docs/decisions/0011-cli-streaming-heap-limits.md).
// The process re-executes itself in place
// (process.execve: same pid, signals and exit code) before anything runs. Setting either flag in
// NODE_OPTIONS (or on the node command line) overrides this, e.g.
// NODE_OPTIONS=--max-old-space-size=1024 for a batch size far above the default.
const [command, sub] = process.argv.slice(2);
const streaming =
  command === 'replay' || command === 'export' || command === 'import' || (command === 'audit' && sub === 'verify');
// `serve` answers HTTP on its main thread (ingest and query; the projector has a worker thread
// with limits of its own): a young generation sized for a request's garbage from the start
// (services/ingest/src/heap.ts).
const heapFlags = streaming
  ? ['--max-old-space-size=160', '--max-semi-space-size=8']
  : command === 'serve'
    ? (await import('@claimtrail/ingest/heap')).httpHeapFlags
    : undefined;
if (heapFlags) {
  const { ensureHeapLimits } = await import('@claimtrail/shared/process');
  ensureHeapLimits(heapFlags);
}
await import('../src/main.ts');
