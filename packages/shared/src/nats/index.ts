export {
  bucketNames,
  changeReplicas,
  connectNats,
  eventFilterOf,
  isApiError,
  openBuckets,
  provisionStream,
  serverFeatures,
  type StreamSettings,
} from './stream.ts';
export { atLeast, featuresOf, parseVersion, type ServerFeatures } from './server-features.ts';
export { coalesceWrites } from './coalesce.ts';
export { clusterOf, type ClusterShape, type ReplicaChange } from './replicas.ts';
export { kvWriteSubject } from './internals/kv-write-subject.ts';
export { checkStream, NotProvisionedError, openProvisionedBuckets, type SettingDifference } from './stream-check.ts';
export { openIdentityIndex, type IdentityEntries, type IdentityIndex } from './identity-index.ts';
