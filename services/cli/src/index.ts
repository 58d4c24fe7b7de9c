export { loadCliConfig, settingNames, type CliConfig } from './config.ts';
export { serve, type ServeOptions } from './commands/serve.ts';
export { createToken, migrateEverything } from './runtime.ts';
