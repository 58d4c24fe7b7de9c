export { createTestEnv, serviceUrls, type ServiceUrls, type TestEnv } from './env.ts';
export { seededRandom } from './seeded-random.ts';
export {
  publishSyntheticEvents,
  syntheticEvents,
  syntheticRecordedAt,
  type FocusSeries,
  type SyntheticEvent,
  type SyntheticEventsOptions,
  type SyntheticFields,
} from './synthetic-events.ts';
export { startNatsCluster, startNatsServer, type NatsNode } from './nats-server.ts';
export { freePort, startPostgresServer, type PostgresServer, type PostgresStopMode } from './postgres-server.ts';
