export { loadCliConfig, settingNames, type CliConfig } from './config.ts';
