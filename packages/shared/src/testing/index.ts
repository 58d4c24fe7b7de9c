export { createTestEnv, serviceUrls, type ServiceUrls, type TestEnv } from './env.ts';
