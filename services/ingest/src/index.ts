export { createIngestApp, type IngestDeps } from './ingest.app.ts';
export { createKvTokenStore } from './token-store.ts';
export { ingestSettingsOf, loadIngestConfig, settingNames, type IngestConfig } from './config.ts';
export { createSimilarFinder, type SimilarFinder } from './similar-claims.ts';
export { startTestIngest } from './test-ingest.ts';
