export { createTestEnv, serviceUrls, type ServiceUrls, type TestEnv } from './env.ts';
export { publishWorkload, seededRandom, workload, type WorkloadMessage } from './workload.ts';
export { startNatsCluster, startNatsServer, type NatsNode } from './nats-server.ts';
export { freePort, startPostgresServer, type PostgresServer, type PostgresStopMode } from './postgres-server.ts';
