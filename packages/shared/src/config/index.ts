export { envFlag, port, readSettings, settingsSchemas, type SettingName } from './env.ts';
