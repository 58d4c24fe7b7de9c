import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createTestEnv, type TestEnv } from '@claimtrail/shared/testing';
import { createToken, loadCliConfig, serve } from '@claimtrail/cli';

export interface Product {
  env: TestEnv;
  ingestUrl: string;
  queryUrl: string;
  projectorUrl: string;
  /** A token with every scope. */
  token: string;
  post(
    path: string,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any; headers: Headers }>;
  get(path: string, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  stop(): Promise<void>;
}

/**
 * The whole product in this process (what `claimtrail serve` runs) on free ports, with its own
 * database and stream. `demo` posts the demo data set.
 */
export async function startProduct(
  label: string,
  o: { demo?: boolean; env?: Record<string, string> } = {},
): Promise<Product> {
  const env = await createTestEnv(label);
  const config = loadCliConfig({
    ...env.env,
    INGEST_PORT: '0',
    QUERY_PORT: '0',
    PROJECTOR_PORT: '0',
    LOG_LEVEL: 'warn',
    ...o.env,
  });
  const running = await serve(config, {
    demo: o.demo ?? false,
    tokenFile: join(tmpdir(), `claimtrail-${env.id}`, 'token'),
    out: () => undefined,
  });
  const token =
    running.demoToken ??
    (await createToken(config, running.db, running.nc, 'test', ['report:write', 'read', 'audit:read', 'admin']));
  const call = async (base: string, path: string, init: RequestInit) => {
    const res = await fetch(`${base}${path}`, init);
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body, headers: res.headers };
  };
  return {
    env,
    ingestUrl: running.ingestUrl,
    queryUrl: running.queryUrl,
    projectorUrl: running.projectorUrl,
    token,
    post: (path, body, headers = {}) =>
      call(running.ingestUrl, path, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    get: (path, headers = {}) => call(running.queryUrl, path, { headers }),
    async stop() {
      await running.stop();
      await env.cleanup();
    },
  };
}
