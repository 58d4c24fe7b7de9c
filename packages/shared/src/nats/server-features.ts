/** What the connected NATS server supports, detected from its version, never assumed. */
export interface ServerFeatures {
  version: string;
  /** Stream and consumer `metadata` (2.10+). */
  metadata: boolean;
  /** Stream `compression` (2.10+). */
  compression: boolean;
  /** `sync_interval` is a server setting (2.10+); reported so operators can check it. */
  syncInterval: boolean;
  /** Atomic batch publish (2.12+). */
  atomicBatch: boolean;
}

export function parseVersion(v: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
}

export function atLeast(v: string, major: number, minor: number): boolean {
  const [a, b] = parseVersion(v);
  return a > major || (a === major && b >= minor);
}

export function featuresOf(version: string): ServerFeatures {
  return {
    version,
    metadata: atLeast(version, 2, 10),
    compression: atLeast(version, 2, 10),
    syncInterval: atLeast(version, 2, 10),
    atomicBatch: atLeast(version, 2, 12),
  };
}
