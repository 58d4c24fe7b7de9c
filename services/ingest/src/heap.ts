// The V8 young generation of the processes that serve HTTP: ingest's process and `claimtrail
// serve` (ingest and query on its main thread). No imports: main.ts and the CLI's bin read it
// before they re-execute themselves with the flags.
//
// Every report allocates a few hundred short-lived objects (the parsed body, each event's
// envelope, its canonical JSON, the publish's headers and promise), all dead when it is answered.
// V8 starts the young generation at 1 MB semi-spaces and grows it only as scavenges keep finding
// survivors, so a freshly started ingest took about 10 s under load to reach its steady rate:
// measured (npm run bench, --only ingest, 2 s warm-up load, five 2 s reps) 6,084 → 10,675
// events/s over the reps with V8's defaults, 10,830–12,704 from the first rep with fixed 32 MB
// semi-spaces. The cost is the space itself: up to 96 MB (three semi-spaces) resident.
const semiSpaceMb = 32;

/** The node flags of the ingest process and of `claimtrail serve`. */
export const httpHeapFlags = [`--min-semi-space-size=${semiSpaceMb}`, `--max-semi-space-size=${semiSpaceMb}`];
