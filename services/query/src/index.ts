export { createPgTokenStore, createQueryApp, type QueryDeps } from './query.app.ts';
export { loadQueryConfig, settingNames, type QueryConfig } from './config.ts';
