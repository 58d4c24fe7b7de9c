export { foldBatch } from './fold.ts';
export { idsOfBatch } from './batch-ids.ts';
export type { FoldInput, FoldOutput, ClaimVersion } from './fold-rows.ts';
export type { StreamMessage } from './stream-message.ts';
export { createBatchPipeline, type BatchPipeline } from './batch-pipeline.ts';
export {
  createProjectionStore,
  StaleCheckpointError,
  type ProjectionStore,
  type Checkpoint,
} from './projection-store.ts';
export { createProjector, consumerNameOf, toStreamMessage, type ProjectorDeps } from './projector.ts';
export { createProjectorDb, createProjectorService, startProjectorService } from './projector.app.ts';
export { loadProjectorConfig, projectorSettingsOf, settingNames, type ProjectorConfig } from './config.ts';
