export { foldBatch } from './fold.ts';
export { idsOfBatch } from './batch-ids.ts';
export type { FoldInput, FoldOutput, ClaimVersion } from './fold-rows.ts';
export { toStreamMessage, type StreamMessage } from './stream-message.ts';
export { createBatchPipeline, type BatchPipeline } from './batch-pipeline.ts';
export {
  createProjectionStore,
  StaleCheckpointError,
  type ProjectionStore,
  type Checkpoint,
} from './projection-store.ts';
export { createProjector, type ProjectorDeps } from './projector.ts';
export { consumerNameOf } from './consumer-loop.ts';
export { schemaLockKey } from './leader-election.ts';
export { createProjectorDb, createProjectorService, startProjectorService } from './projector.app.ts';
export { loadProjectorConfig, projectorSettingsOf, settingNames, type ProjectorConfig } from './config.ts';
