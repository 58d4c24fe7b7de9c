export { createPgTokenStore, createQueryApp, type QueryDeps } from './query.app.ts';
export { loadQueryConfig, querySettingsOf, settingNames, type QueryConfig } from './config.ts';
