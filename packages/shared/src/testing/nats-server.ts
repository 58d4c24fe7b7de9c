import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const NATS_SERVER = '/usr/sbin/nats-server';
const START_TIMEOUT_MS = 30_000;

/** One nats-server process of a test's own, on a loopback port and data directory that survive restarts. */
export interface NatsNode {
  name: string;
  port: number;
  /** `nats://127.0.0.1:<port>` */
  url: string;
  /** Undefined while the process is not running. */
  readonly pid: number | undefined;
  /** Sends the signal (default SIGKILL) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** (Re)starts on the same port and data directory; resolves once the client port answers. */
  start(): Promise<void>;
  /** SIGSTOP: the process stays alive but answers nothing, like a hung machine. */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
}

/** Servers still running when the test process exits would outlive it and hold their ports. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of running) c.kill('SIGKILL');
  });
}

/** A port nothing listens on now, found by binding port 0. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** True once something on the port greets like a NATS server (`INFO {...}`). */
async function answersNats(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = tcpConnect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1000, () => done(false));
    sock.once('error', () => done(false));
    sock.once('data', (b) => done(b.toString('utf8').startsWith('INFO')));
  });
}

interface NodeSpec {
  name: string;
  dir: string;
  port: number;
  monitorPort: number;
  clusterArgs: string[];
}

interface NodeHandle extends NatsNode {
  monitorPort: number;
  dir: string;
}

function createNode(spec: NodeSpec): NodeHandle {
  let child: ChildProcess | undefined;
  const url = `nats://127.0.0.1:${spec.port}`;
  const signal = (sig: NodeJS.Signals) => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill(sig);
  };
  const node: NodeHandle = {
    name: spec.name,
    port: spec.port,
    url,
    monitorPort: spec.monitorPort,
    dir: spec.dir,
    get pid() {
      return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
    },
    async kill(sig: NodeJS.Signals = 'SIGKILL') {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      // A stopped process keeps a SIGTERM pending until it runs again.
      if (sig !== 'SIGKILL') c.kill('SIGCONT');
      c.kill(sig);
      await exited;
    },
    async start() {
      if (node.pid !== undefined) throw new Error(`nats-server ${spec.name} is already running (pid ${node.pid})`);
      await mkdir(spec.dir, { recursive: true });
      const log = openSync(join(spec.dir, 'nats-server.log'), 'a');
      const args = [
        '-js',
        '-a',
        '127.0.0.1',
        '-p',
        String(spec.port),
        '-m',
        String(spec.monitorPort),
        '-sd',
        join(spec.dir, 'jetstream'),
        '--server_name',
        spec.name,
        ...spec.clusterArgs,
      ];
      const c = spawn(NATS_SERVER, args, { stdio: ['ignore', log, log] });
      closeSync(log);
      child = c;
      track(c);
      let failure: Error | undefined;
      c.once('error', (err) => (failure = err));
      c.once('exit', (code, sig) => {
        failure ??= new Error(
          `nats-server ${spec.name} exited (${sig ?? `code ${code}`}) while starting; see ${join(spec.dir, 'nats-server.log')}`,
        );
      });
      const deadline = Date.now() + START_TIMEOUT_MS;
      for (;;) {
        if (failure) throw failure;
        if (await answersNats(spec.port)) return;
        if (Date.now() > deadline) {
          await node.kill();
          throw new Error(`nats-server ${spec.name} did not answer on port ${spec.port} within ${START_TIMEOUT_MS} ms`);
        }
        await sleep(50);
      }
    },
    pause() {
      signal('SIGSTOP');
    },
    resume() {
      signal('SIGCONT');
    },
  };
  return node;
}

/**
 * One JetStream server of the test's own: `/usr/sbin/nats-server -js` on a free loopback port,
 * data and log in `dir` (a new temporary directory by default, removed by `stop`; a given `dir`
 * is left in place).
 */
export async function startNatsServer(o: { dir?: string } = {}): Promise<NatsNode & { stop(): Promise<void> }> {
  const own = o.dir === undefined;
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'claimtrail-nats-')));
  const node = createNode({
    name: `ct-single-${randomBytes(3).toString('hex')}`,
    dir,
    port: await freePort(),
    monitorPort: await freePort(),
    clusterArgs: [],
  });
  await node.start();
  return Object.assign(node, {
    async stop() {
      await node.kill();
      if (own) await rm(dir, { recursive: true, force: true });
    },
  });
}

interface Jsz {
  meta_cluster?: {
    leader?: string;
    cluster_size?: number;
    replicas?: { name: string; current?: boolean; active?: number }[];
  };
}

async function jsz(monitorPort: number): Promise<Jsz | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${monitorPort}/jsz`, { signal: AbortSignal.timeout(1000) });
    return res.ok ? ((await res.json()) as Jsz) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A JetStream cluster of `nodes` servers of the test's own, each with its own port, route port,
 * data directory and server name (`n1`, `n2`, ...), all routed to each other. `ready()` waits
 * until a meta leader has every running node as a current peer, so that R`nodes` assets can be
 * placed; `stop()` kills every server and removes the directories.
 */
export async function startNatsCluster(o: { nodes: number }): Promise<{
  nodes: NatsNode[];
  urls: string;
  ready(): Promise<void>;
  stop(): Promise<void>;
}> {
  if (!Number.isInteger(o.nodes) || o.nodes < 1) throw new Error(`a cluster needs at least one node, not ${o.nodes}`);
  const root = await mkdtemp(join(tmpdir(), 'claimtrail-nats-cluster-'));
  const clusterName = `ct-${randomBytes(3).toString('hex')}`;
  const ports: { port: number; monitorPort: number; routePort: number }[] = [];
  for (let i = 0; i < o.nodes; i++)
    ports.push({ port: await freePort(), monitorPort: await freePort(), routePort: await freePort() });
  const handles = ports.map((p, i) =>
    createNode({
      name: `n${i + 1}`,
      dir: join(root, `n${i + 1}`),
      port: p.port,
      monitorPort: p.monitorPort,
      clusterArgs: [
        '--cluster_name',
        clusterName,
        '--cluster',
        `nats://127.0.0.1:${p.routePort}`,
        '--routes',
        ports
          .filter((_, j) => j !== i)
          .map((q) => `nats://127.0.0.1:${q.routePort}`)
          .join(','),
      ],
    }),
  );
  const stop = async () => {
    await Promise.all(handles.map((n) => n.kill()));
    await rm(root, { recursive: true, force: true });
  };
  try {
    await Promise.all(handles.map((n) => n.start()));
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes: handles,
    urls: handles.map((n) => n.url).join(','),
    async ready() {
      const deadline = Date.now() + START_TIMEOUT_MS;
      for (;;) {
        const up = handles.filter((n) => n.pid !== undefined);
        for (const n of up) {
          const meta = (await jsz(n.monitorPort))?.meta_cluster;
          if (!meta?.leader) continue;
          // `active` (ns since the peer last answered) keeps a just-killed peer from counting as current.
          const current = new Set(
            (meta.replicas ?? []).filter((r) => r.current && (r.active ?? 0) < 3e9).map((r) => r.name),
          );
          current.add(meta.leader);
          if (up.every((u) => current.has(u.name))) return;
        }
        if (Date.now() > deadline)
          throw new Error(
            `the NATS cluster had no JetStream meta leader with all running nodes within ${START_TIMEOUT_MS} ms`,
          );
        await sleep(100);
      }
    },
    stop,
  };
}
