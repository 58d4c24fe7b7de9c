import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { settingsSchemas, type SettingName } from '@claimtrail/shared/config';
import { settingNames as ingestSettingNames } from '../services/ingest/src/config.ts';
import { settingNames as projectorSettingNames } from '../services/projector/src/config.ts';
import { settingNames as querySettingNames } from '../services/query/src/config.ts';

// The deployment files are checked as text: no Docker needed. What compose would do at run time
// (interpolate ${VAR:-default}) is imitated with the defaults written in the file.

const root = new URL('../', import.meta.url);
const readRepoFile = (path: string): string => readFileSync(new URL(path, root), 'utf8');

const stringList = z.array(z.string());
const healthcheckSchema = z.object({ test: z.union([z.string(), stringList]) }).loose();
const serviceSchema = z
  .object({
    image: z.string().optional(),
    build: z.unknown().optional(),
    command: z.union([z.string(), stringList]).optional(),
    environment: z.record(z.string(), z.string()).optional(),
    ports: stringList.optional(),
    volumes: stringList.optional(),
    depends_on: z
      .record(
        z.string(),
        z.object({ condition: z.enum(['service_started', 'service_healthy', 'service_completed_successfully']) }),
      )
      .optional(),
    healthcheck: healthcheckSchema.optional(),
    restart: z.string().optional(),
  })
  .loose();
const composeSchema = z.object({ services: z.record(z.string(), serviceSchema) }).loose();
type Service = z.infer<typeof serviceSchema>;

const compose = composeSchema.parse(parse(readRepoFile('docker-compose.yml')));

function service(name: string): Service {
  const found = compose.services[name];
  if (found === undefined) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
}

function env(name: string): Record<string, string> {
  return service(name).environment ?? {};
}

/** What compose substitutes when the variables are unset: `${X:-d}` and `${X-d}` become `d`. */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (_match, _name, fallback?: string) => {
    return fallback ?? '';
  });
}

/** What the migrate job (the CLI's `migrate`) reads, of the CLI's settings. */
const migrateSettingNames = [
  'DATABASE_URL',
  'NATS_URL',
  'CLAIMTRAIL_STREAM',
  'CLAIMTRAIL_SUBJECT_PREFIX',
  'CLAIMTRAIL_SCHEMA',
  'CLAIMTRAIL_DUPLICATE_WINDOW_S',
  'CLAIMTRAIL_REPLICAS',
] as const satisfies readonly SettingName[];

/** The JetStream cluster: three nodes, each a service of its own. */
const natsNodes = ['nats-1', 'nats-2', 'nats-3'] as const;

const nodeServices: Record<string, readonly SettingName[]> = {
  ingest: ingestSettingNames,
  projector: projectorSettingNames,
  query: querySettingNames,
  migrate: migrateSettingNames,
};

const httpServices = [
  { name: 'ingest', portVar: 'INGEST_PORT', port: 8081 },
  { name: 'projector', portVar: 'PROJECTOR_PORT', port: 8082 },
  { name: 'query', portVar: 'QUERY_PORT', port: 8080 },
] as const;

/** Settings that must hold the same value in every process that reads them, or they talk past each other. */
const agreedSettings = [
  'CLAIMTRAIL_STREAM',
  'CLAIMTRAIL_SUBJECT_PREFIX',
  'CLAIMTRAIL_SCHEMA',
  'CLAIMTRAIL_DUPLICATE_WINDOW_S',
  'CLAIMTRAIL_REPLICAS',
] as const satisfies readonly SettingName[];

const hasDefault = (name: SettingName): boolean => settingsSchemas[name].safeParse(undefined).success;

describe('docker-compose.yml services', () => {
  it('defines three NATS nodes, postgres, migrate, ingest, projector and query, and nothing else', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [...natsNodes, 'ingest', 'migrate', 'postgres', 'projector', 'query'].sort(),
    );
  });

  it.each(Object.keys(nodeServices))('%s runs the one image built from the Dockerfile', (name) => {
    expect(service(name).build).toBe('.');
    expect(service(name).image).toBe(service('migrate').image);
  });

  it.each(httpServices)('$name runs its own main.ts', ({ name }) => {
    expect(service(name).command).toEqual(['node', `services/${name}/src/main.ts`]);
  });

  it('migrate is a one-shot run of the CLI migrate command', () => {
    expect(service('migrate').command).toEqual(['node', 'services/cli/src/main.ts', 'migrate']);
    expect(service('migrate').restart).toBe('no');
    expect(service('migrate').ports ?? []).toEqual([]);
  });
});

describe('docker-compose.yml environment', () => {
  it.each(Object.entries(nodeServices))('%s sets only variables that it reads', (name, reads) => {
    const unread = Object.keys(env(name)).filter((key) => !(reads as readonly string[]).includes(key));
    expect(unread).toEqual([]);
  });

  it.each(Object.entries(nodeServices))(
    '%s sets every variable whose default is wrong in a container',
    (name, reads) => {
      const mustSet = reads.filter(
        (key) =>
          !hasDefault(key) ||
          ['DATABASE_URL', 'NATS_URL', 'HOST', 'INGEST_PORT', 'PROJECTOR_PORT', 'QUERY_PORT'].includes(key) ||
          (agreedSettings as readonly string[]).includes(key),
      );
      const missing = mustSet.filter((key) => env(name)[key] === undefined);
      expect(missing).toEqual([]);
    },
  );

  it.each(Object.keys(nodeServices))('%s: every value passes the settings schema', (name) => {
    const invalid = Object.entries(env(name)).filter(([key, value]) => {
      if (!(key in settingsSchemas)) return true;
      return !settingsSchemas[key as SettingName].safeParse(interpolate(value)).success;
    });
    expect(invalid).toEqual([]);
  });

  it.each(httpServices)('$name listens on all interfaces inside its container', ({ name }) => {
    expect(env(name).HOST).toBe('0.0.0.0');
  });

  it.each(Object.keys(nodeServices))('%s reaches NATS and Postgres by their compose service names', (name) => {
    const natsUrl = env(name).NATS_URL;
    // Every node, so that a client connects while any one of them is down.
    if (natsUrl !== undefined)
      expect(
        interpolate(natsUrl)
          .split(',')
          .map((u) => new URL(u).host),
      ).toEqual(natsNodes.map((n) => `${n}:4222`));
    const databaseUrl = env(name).DATABASE_URL;
    if (databaseUrl !== undefined) {
      const url = new URL(interpolate(databaseUrl));
      expect(url.host).toBe('postgres:5432');
      expect(url.pathname).toBe(`/${env('postgres').POSTGRES_DB}`);
    }
  });

  it.each(agreedSettings)('%s has one value across every service that reads it', (key) => {
    const values = Object.entries(nodeServices)
      .filter(([, reads]) => (reads as readonly string[]).includes(key))
      .map(([name]) => env(name)[key]);
    expect(values.length).toBeGreaterThan(1);
    expect(new Set(values).size).toBe(1);
  });
});

describe('docker-compose.yml database roles', () => {
  const credentials = (name: string) => {
    const url = new URL(interpolate(env(name).DATABASE_URL ?? 'postgres://missing@nowhere/none'));
    return { user: url.username, password: decodeURIComponent(url.password) };
  };
  const postgresEnv = () =>
    Object.fromEntries(Object.entries(env('postgres')).map(([key, value]) => [key, interpolate(value)]));

  it.each(['migrate', 'projector'])('%s connects as claimtrail_writer with the password postgres sets', (name) => {
    expect(credentials(name)).toEqual({
      user: 'claimtrail_writer',
      password: postgresEnv().CLAIMTRAIL_WRITER_PASSWORD,
    });
  });

  it('query connects as claimtrail_reader with the password postgres sets', () => {
    expect(credentials('query')).toEqual({
      user: 'claimtrail_reader',
      password: postgresEnv().CLAIMTRAIL_READER_PASSWORD,
    });
  });

  it('postgres runs infra/postgres/roles.sql at initialisation, and it creates both roles', () => {
    expect(service('postgres').volumes).toContainEqual(
      expect.stringMatching(/^\.\/infra\/postgres\/roles\.sql:\/docker-entrypoint-initdb\.d\/[\w-]+\.sql(:ro)?$/),
    );
    const roles = readRepoFile('infra/postgres/roles.sql');
    expect(roles).toMatch(/CREATE ROLE claimtrail_writer\b/);
    expect(roles).toMatch(/CREATE ROLE claimtrail_reader\b/);
    expect(roles).toMatch(
      /ALTER DEFAULT PRIVILEGES FOR ROLE claimtrail_writer GRANT SELECT ON TABLES TO claimtrail_reader/,
    );
  });
});

describe('docker-compose.yml ports and health', () => {
  it.each(httpServices)('$name publishes $port, the port its $portVar says', ({ name, portVar, port }) => {
    const configured = env(name)[portVar];
    expect(configured && interpolate(configured)).toBe(String(port));
    expect(service(name).ports).toEqual([`${port}:${port}`]);
  });

  it.each([...natsNodes, 'postgres', 'ingest', 'projector', 'query'])('%s has a healthcheck', (name) => {
    expect(service(name).healthcheck?.test).toBeDefined();
  });

  it.each(httpServices)('$name is healthy when its own /readyz answers', ({ name, port }) => {
    const test = service(name).healthcheck?.test;
    expect(test?.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(test?.[3]).toContain(`fetch('http://127.0.0.1:${port}/readyz')`);
  });

  it.each(natsNodes)('%s is healthy when its monitoring port reports JetStream current with a meta leader', (name) => {
    const test = service(name).healthcheck?.test;
    expect(test?.[0]).toBe('CMD');
    // The full check: `?js-enabled-only=true` is healthy before a meta leader exists, and migrate
    // would then fail to place three replicas.
    expect(test).toContainEqual(expect.stringMatching(/^http:\/\/(localhost|127\.0\.0\.1):8222\/healthz$/));
  });

  it('postgres is healthy when pg_isready answers over TCP', () => {
    expect(service('postgres').healthcheck?.test).toEqual(expect.arrayContaining(['CMD', 'pg_isready', '-h']));
  });
});

describe('docker-compose.yml start order', () => {
  const healthy = { condition: 'service_healthy' };
  const migrated = { condition: 'service_completed_successfully' };
  const nats = Object.fromEntries(natsNodes.map((n) => [n, healthy]));
  const expected: Record<string, Record<string, { condition: string }>> = {
    migrate: { postgres: healthy, ...nats },
    ingest: { migrate: migrated, postgres: healthy, ...nats },
    projector: { migrate: migrated, ...nats, postgres: healthy },
    query: { migrate: migrated, postgres: healthy },
  };

  it.each(Object.entries(expected))('%s waits for what it needs', (name, dependsOn) => {
    expect(service(name).depends_on).toEqual(dependsOn);
  });

  it.each(Object.entries(nodeServices))('%s waits for every server it reads a URL of', (name, reads) => {
    const dependsOn = service(name).depends_on ?? {};
    if (reads.includes('NATS_URL')) for (const n of natsNodes) expect(dependsOn[n], n).toEqual(healthy);
    if (reads.includes('DATABASE_URL')) expect(dependsOn.postgres).toEqual(healthy);
  });

  it.each([...natsNodes, 'postgres'])('%s waits for nothing', (name) => {
    expect(service(name).depends_on).toBeUndefined();
  });
});

describe('NATS deployment config', () => {
  const natsConf = readRepoFile('infra/nats/nats.conf').replace(/#.*$/gm, '');
  const jetstreamBlock = /^jetstream\s*\{([^}]*)\}/m.exec(natsConf)?.[1] ?? '';

  const clusterBlock = /^cluster\s*\{([\s\S]*?)^\}/m.exec(natsConf)?.[1] ?? '';

  it.each(natsNodes)('%s runs nats 2.12 with infra/nats/nats.conf, named after its service', (name) => {
    expect(service(name).image).toMatch(/^nats:2\.12(\.\d+)?-alpine$/);
    expect(service(name).command).toEqual(['-c', '/etc/nats/nats.conf']);
    expect(service(name).volumes).toContain('./infra/nats/nats.conf:/etc/nats/nats.conf:ro');
    expect(env(name)).toEqual({ NATS_SERVER_NAME: name });
    expect(natsConf).toMatch(/^server_name:\s*\$NATS_SERVER_NAME\s*$/m);
  });

  it('enables JetStream with an fsync on every write', () => {
    expect(jetstreamBlock).not.toBe('');
    expect(jetstreamBlock).toMatch(/^\s*sync_interval:\s*always\s*$/m);
  });

  it('keeps the JetStream store of each node on a volume of its own', () => {
    const storeDir = /^\s*store_dir:\s*(\S+)\s*$/m.exec(jetstreamBlock)?.[1];
    expect(storeDir).toBe('/data');
    const volumes = natsNodes.map((n) => service(n).volumes?.find((v) => v.endsWith(':/data')));
    for (const v of volumes) expect(v).toMatch(/^[\w-]+:\/data$/);
    expect(new Set(volumes).size).toBe(natsNodes.length);
  });

  it('routes every node to every node in one named cluster', () => {
    expect(clusterBlock).toMatch(/^\s*name:\s*\w[\w-]*\s*$/m);
    expect(clusterBlock).toMatch(/^\s*listen:\s*0\.0\.0\.0:6222\s*$/m);
    const routes = [...clusterBlock.matchAll(/nats-route:\/\/([\w-]+):6222/g)].map((m) => m[1]);
    expect(routes).toEqual([...natsNodes]);
  });

  it.each(['migrate', 'ingest'])('%s creates the stream and buckets with one replica a node', (name) => {
    const replicas = env(name).CLAIMTRAIL_REPLICAS;
    expect(replicas && Number(interpolate(replicas))).toBe(natsNodes.length);
  });

  it('listens where the services and the healthcheck look', () => {
    expect(natsConf).toMatch(/^listen:\s*0\.0\.0\.0:4222\s*$/m);
    expect(natsConf).toMatch(/^http_port:\s*8222\s*$/m);
    expect(natsConf).toMatch(/^max_payload:\s*1MB\s*$/m);
  });
});

describe('Dockerfile', () => {
  const dockerfile = existsSync(new URL('Dockerfile', root)) ? readRepoFile('Dockerfile') : '';
  const workspaces = z.object({ workspaces: stringList }).parse(JSON.parse(readRepoFile('package.json'))).workspaces;

  it('builds on Node 24 and runs as the node user', () => {
    expect(dockerfile).toMatch(/^FROM node:24(-slim)?(@sha256:[0-9a-f]{64})?\s*$/m);
    expect(dockerfile).toMatch(/^USER node\s*$/m);
  });

  it('copies every workspace manifest before npm ci, so the workspaces link', () => {
    const npmCi = dockerfile.search(/^RUN npm ci\b/m);
    expect(npmCi).toBeGreaterThan(0);
    for (const workspace of workspaces) {
      const copy = dockerfile.indexOf(`COPY ${workspace}/package.json ${workspace}/`);
      expect(copy, workspace).toBeGreaterThan(0);
      expect(copy, workspace).toBeLessThan(npmCi);
    }
  });

  it('keeps node_modules and .git out of the build context', () => {
    const ignored = readRepoFile('.dockerignore').split('\n');
    expect(ignored).toContain('**/node_modules');
    expect(ignored).toContain('.git');
  });
});
