export { createTestEnv, serviceUrls, type ServiceUrls, type TestEnv } from './env.ts';
export { publishWorkload, seededRandom, workload, type WorkloadMessage } from './workload.ts';
