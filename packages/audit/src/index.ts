/**
 * The audit operations over the stream and the read models, as `claimtrail` runs them: replay
 * (and promote), verify, as-of, a claim's story, export, verify-export and import.
 */
export { AuditError } from './audit-error.ts';
export { runReplay, SCHEMA_NAME_RE, type ReplayDeps, type ReplayOptions, type ReplayResult } from './replay.ts';
export { promoteSchema } from './promote.ts';
export { runVerify, type Difference, type VerifyOptions, type VerifyReport } from './verify.ts';
export { formatVerifyReport } from './verify-text.ts';
export { compareTable, READ_MODEL_TABLES, type RowDifference, type TableComparison } from './read-model-diff.ts';
export { parkedEvents, repeatedEvents, type ParkedEvent, type RepeatedEvent } from './set-aside.ts';
export { asOfRows, formatTable, runAsOf, type AsOfAnswer } from './as-of.ts';
export { runClaimStory, type ClaimStoryEvent } from './claim-story.ts';
export { EXPORT_FORMAT, type ExportLine, type ExportManifest } from './export-format.ts';
export { runExport } from './export.ts';
export { verifyExport, type ExportCheck } from './verify-export.ts';
export { runImport, type ImportResult } from './import.ts';
export { readStream, streamBounds, type ReadStreamOptions, type StreamBounds } from './stream-reader.ts';
export { createProgress, type Progress, type ProgressSink } from './progress.ts';
export { createIdentityPlanner, rebuildIdentityIndex, type IdentityRebuildResult } from './identity-rebuild.ts';
