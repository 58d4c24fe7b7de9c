// the raw limits of this machine with the fastest client settings, measured in
// the same run as the product figures so that their ratios mean something.
//   a. JetStream publish with acks, sequential (await each publish);
//   b. JetStream publish pipelined, 256 in flight, a unique msgID each;
//   c. JetStream consume: durable pull consumer, AckPolicy.All, batches of 500 (fetch, and consume());
//   d. Postgres multi-row INSERT (500 rows a statement) and `unnest` INSERT … ON CONFLICT upsert;
//   e. a raw batched pipeline: fetch 500, one transaction (multi-row insert + checkpoint update),
//      commit, ack.
import type pg from 'pg';
import { AckPolicy, DeliverPolicy, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import type { BenchContext, BenchStream } from '../context.ts';
import { addCpuFigures, startCpuMeter, type CpuReading } from '../cpu.ts';
import {
  CLAIM_ROW_COLUMNS,
  CLAIM_ROW_DDL,
  claimRow,
  generateClaimEvents,
  type ClaimEvent,
  type ClaimRow,
  type GeneratedEvent,
} from '../events.ts';

export const BATCH = 500;
export const IN_FLIGHT = 256;

export interface RawCounts {
  publishSequential: number;
  publishPipelined: number;
  consume: number;
  postgres: number;
  pipeline: number;
}

export function rawCounts(quick: boolean): RawCounts {
  return quick
    ? { publishSequential: 1_000, publishPipelined: 10_000, consume: 10_000, postgres: 10_000, pipeline: 10_000 }
    : { publishSequential: 5_000, publishPipelined: 50_000, consume: 50_000, postgres: 50_000, pipeline: 50_000 };
}

const encoder = new TextEncoder();

/** Publishes `events` with `inFlight` publishes outstanding at a time, each with a msgID. */
export async function publishPipelined(
  js: JetStreamClient,
  stream: BenchStream,
  events: { subject: string; data: Uint8Array }[],
  inFlight: number,
  msgIdPrefix: string,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < events.length) {
      const i = next++;
      const e = events[i]!;
      await js.publish(`${stream.prefix}.${e.subject}`, e.data, { msgID: `${msgIdPrefix}-${i}` });
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, events.length) }, worker));
}

/** `INSERT INTO table (cols) VALUES ($1..$12), … ` for `rows` rows. */
export function multiRowInsertSql(table: string, rows: number): string {
  const n = CLAIM_ROW_COLUMNS.length;
  const tuples: string[] = [];
  for (let r = 0; r < rows; r++) {
    tuples.push(`(${Array.from({ length: n }, (_, c) => `$${r * n + c + 1}`).join(',')})`);
  }
  return `INSERT INTO ${table} (${CLAIM_ROW_COLUMNS.join(',')}) VALUES ${tuples.join(',')}`;
}

export function unnestUpsertSql(table: string): string {
  const types = [
    'text',
    'text',
    'text',
    'text',
    'text',
    'numeric',
    'numeric',
    'numeric',
    'timestamptz',
    'timestamptz',
    'int8',
    'jsonb',
  ];
  const args = types.map((t, i) => `$${i + 1}::${t}[]`).join(', ');
  const updates = CLAIM_ROW_COLUMNS.filter((c) => c !== 'claim_id' && c !== 'source_id')
    .map((c) => `${c} = EXCLUDED.${c}`)
    .join(', ');
  return `INSERT INTO ${table} (${CLAIM_ROW_COLUMNS.join(',')}) SELECT * FROM unnest(${args})
    ON CONFLICT (claim_id, source_id) DO UPDATE SET ${updates}`;
}

async function insertBatch(client: pg.PoolClient | pg.Client, table: string, rows: ClaimRow[]): Promise<void> {
  const values: unknown[] = [];
  for (const r of rows) for (const v of r) values.push(v);
  // A named (prepared) statement for full batches; the text is parsed and planned once.
  const name = rows.length === BATCH ? `ins_${table}_${BATCH}` : undefined;
  await client.query({ ...(name ? { name } : {}), text: multiRowInsertSql(table, rows.length), values });
}

async function upsertBatch(client: pg.PoolClient, table: string, sqlText: string, rows: ClaimRow[]): Promise<void> {
  // ON CONFLICT DO UPDATE cannot touch a row twice in one statement: keep the last row per key.
  const byKey = new Map<string, ClaimRow>();
  for (const r of rows) byKey.set(`${r[1]}\u0000${r[4]}`, r);
  const cols: unknown[][] = CLAIM_ROW_COLUMNS.map(() => []);
  for (const r of byKey.values()) for (let c = 0; c < r.length; c++) cols[c]!.push(r[c]);
  await client.query({ name: `ups_${table}`, text: sqlText, values: cols });
}

export async function runRaw(ctx: BenchContext): Promise<void> {
  const counts = rawCounts(ctx.quick);
  const maxCount = Math.max(...(Object.values(counts) as number[]));
  ctx.log(`generating ${maxCount.toLocaleString('en-US')} claim events`);
  const generated: GeneratedEvent[] = generateClaimEvents(maxCount, { seed: 1 });
  const messages = generated.map((g) => ({ subject: g.subject, data: encoder.encode(g.json) }));
  const avgBytes = Math.round(messages.reduce((s, m) => s + m.data.length, 0) / messages.length);
  ctx.results.notes.push(`raw: claim event payloads average ${avgBytes} bytes of JSON`);
  ctx.log(`payloads average ${avgBytes} bytes`);

  const js = await ctx.js();
  const jsm = await ctx.jsm();

  // a. sequential publish, awaiting each ack
  {
    const stream = await ctx.createStream('pubseq');
    const n = counts.publishSequential;
    await ctx.measure(
      'raw.js.publish.sequential',
      async () => {
        for (let i = 0; i < n; i++) {
          const m = messages[i]!;
          await js.publish(`${stream.prefix}.${m.subject}`, m.data);
        }
        return n;
      },
      { note: `${n} publishes, each awaited (PubAck), no msgID, file storage R1` },
    );
  }

  // b. pipelined publish, 256 in flight, unique msgID each
  {
    const stream = await ctx.createStream('pubpipe');
    const n = counts.publishPipelined;
    const batch = messages.slice(0, n);
    const cpu: { reading: CpuReading; eventsPerSecond: number }[] = [];
    await ctx.measure(
      'raw.js.publish.pipelined256',
      async (rep) => {
        const meter = startCpuMeter({ client: { pid: process.pid }, nats: { name: 'nats-server' } });
        const t0 = performance.now();
        await publishPipelined(js, stream, batch, IN_FLIGHT, `p${rep}`);
        const seconds = (performance.now() - t0) / 1000;
        cpu.push({ reading: meter.stop(), eventsPerSecond: n / seconds });
        return { events: n, seconds };
      },
      { note: `${n} publishes, ${IN_FLIGHT} in flight, unique msgID each (dedupe window 2 min)` },
    );
    addCpuFigures(ctx, 'raw.js.publish.pipelined256', cpu, 'client = the bench process publishing');
  }

  // c. consume: durable pull consumer, AckPolicy.All, ack the last message of each 500
  {
    const stream = await ctx.createStream('consume');
    const n = counts.consume;
    ctx.log(`pre-filling ${stream.name} with ${n} events`);
    await publishPipelined(js, stream, messages.slice(0, n), IN_FLIGHT, 'fill');
    const durable = (kind: string, rep: number) => `bench_${kind}_${rep}`;
    const addConsumer = async (name: string) => {
      await jsm.consumers.add(stream.name, {
        durable_name: name,
        ack_policy: AckPolicy.All,
        deliver_policy: DeliverPolicy.All,
        max_ack_pending: 20_000,
      });
    };
    await ctx.measure(
      'raw.js.consume.fetch500',
      async (rep) => {
        const consumer = await js.consumers.get(stream.name, durable('fetch', rep));
        let got = 0;
        let bytes = 0;
        while (got < n) {
          const batch = await consumer.fetch({ max_messages: BATCH, expires: 5_000 });
          let last: JsMsg | undefined;
          for await (const m of batch) {
            bytes += m.data.length;
            last = m;
            got++;
          }
          if (!last) throw new Error(`fetch returned nothing after ${got} of ${n}`);
          last.ack();
        }
        if (bytes === 0) throw new Error('no data');
        return n;
      },
      {
        setup: (rep) => addConsumer(durable('fetch', rep)),
        teardown: async (rep) => {
          await jsm.consumers.delete(stream.name, durable('fetch', rep));
        },
        note: `${n} events, fetch({max_messages: ${BATCH}}) in a loop, AckPolicy.All: ack() of the last message of each batch`,
      },
    );
    await ctx.measure(
      'raw.js.consume.consume',
      async (rep) => {
        const consumer = await js.consumers.get(stream.name, durable('consume', rep));
        const messagesIter = await consumer.consume({ max_messages: 2 * BATCH });
        let got = 0;
        for await (const m of messagesIter) {
          got++;
          if (got % BATCH === 0 || got === n) m.ack();
          if (got === n) break;
        }
        await messagesIter.close();
        return n;
      },
      {
        setup: (rep) => addConsumer(durable('consume', rep)),
        teardown: async (rep) => {
          await jsm.consumers.delete(stream.name, durable('consume', rep));
        },
        note: `${n} events, consume({max_messages: ${2 * BATCH}}) (pulls ahead), AckPolicy.All: ack() of every ${BATCH}th message`,
      },
    );
  }

  // d. Postgres: multi-row INSERT and unnest upsert, batches of 500, one connection
  const pool = await ctx.pool(2);
  {
    const n = counts.postgres;
    const rows = generated.slice(0, n).map((g, i) => claimRow(g.event, i + 1, g.json));
    await pool.query(`CREATE TABLE raw_insert (${CLAIM_ROW_DDL}, PRIMARY KEY (event_id))`);
    await pool.query(`CREATE TABLE raw_upsert (${CLAIM_ROW_DDL}, PRIMARY KEY (claim_id, source_id))`);
    const client = await pool.connect();
    try {
      await ctx.measure(
        'raw.pg.insert.multirow500',
        async () => {
          for (let i = 0; i < n; i += BATCH) await insertBatch(client, 'raw_insert', rows.slice(i, i + BATCH));
          return n;
        },
        {
          setup: async () => {
            await client.query('TRUNCATE raw_insert');
          },
          note: `${n} claim rows (12 columns: text ids, numerics, timestamptz, jsonb envelope), prepared INSERT … VALUES of ${BATCH} rows, autocommit, primary key on event_id`,
        },
      );
      const upsertSql = unnestUpsertSql('raw_upsert');
      await ctx.measure(
        'raw.pg.upsert.unnest500',
        async () => {
          for (let i = 0; i < n; i += BATCH)
            await upsertBatch(client, 'raw_upsert', upsertSql, rows.slice(i, i + BATCH));
          return n;
        },
        {
          setup: async () => {
            await client.query('TRUNCATE raw_upsert');
          },
          note: `${n} events as rows keyed by (claim_id, source_id): corrections update, new claims and echoes insert; INSERT … SELECT FROM unnest(12 arrays) ON CONFLICT DO UPDATE, ${BATCH} events a statement, autocommit`,
        },
      );
    } finally {
      client.release();
    }
  }

  // e. raw batched pipeline: fetch 500 → BEGIN; multi-row INSERT; UPDATE checkpoint; COMMIT → ack
  {
    const n = counts.pipeline;
    const stream = await ctx.createStream('pipeline');
    ctx.log(`pre-filling ${stream.name} with ${n} events`);
    await publishPipelined(js, stream, messages.slice(0, n), IN_FLIGHT, 'fill');
    await pool.query(`CREATE TABLE raw_pipeline (${CLAIM_ROW_DDL}, PRIMARY KEY (event_id))`);
    await pool.query(`CREATE TABLE raw_checkpoint (id int PRIMARY KEY, seq bigint NOT NULL)`);
    const client = await pool.connect();
    const durable = (rep: number) => `bench_pipeline_${rep}`;
    const pipelineCpu: { reading: CpuReading; eventsPerSecond: number }[] = [];
    try {
      await ctx.measure(
        'raw.pipeline.fetch500.tx',
        async (rep) => {
          const consumer = await js.consumers.get(stream.name, durable(rep));
          const meter = startCpuMeter({
            client: { pid: process.pid },
            postgres: { name: 'postgres' },
            nats: { name: 'nats-server' },
          });
          const t0 = performance.now();
          let done = 0;
          while (done < n) {
            const batch = await consumer.fetch({ max_messages: BATCH, expires: 5_000 });
            const msgs: JsMsg[] = [];
            for await (const m of batch) msgs.push(m);
            const last = msgs[msgs.length - 1];
            if (!last) throw new Error(`fetch returned nothing after ${done} of ${n}`);
            const rows = msgs.map((m) => {
              const json = m.string();
              return claimRow(JSON.parse(json) as ClaimEvent, m.seq, json);
            });
            await client.query('BEGIN');
            await insertBatch(client, 'raw_pipeline', rows);
            await client.query({
              name: 'ckpt',
              text: 'UPDATE raw_checkpoint SET seq = $1 WHERE id = 1',
              values: [last.seq],
            });
            await client.query('COMMIT');
            last.ack();
            done += msgs.length;
          }
          const seconds = (performance.now() - t0) / 1000;
          pipelineCpu.push({ reading: meter.stop(), eventsPerSecond: n / seconds });
          return { events: n, seconds };
        },
        {
          setup: async (rep) => {
            await client.query('TRUNCATE raw_pipeline');
            await client.query('INSERT INTO raw_checkpoint VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET seq = 0');
            await jsm.consumers.add(stream.name, {
              durable_name: durable(rep),
              ack_policy: AckPolicy.All,
              deliver_policy: DeliverPolicy.All,
              max_ack_pending: 20_000,
            });
          },
          teardown: async (rep) => {
            await jsm.consumers.delete(stream.name, durable(rep));
          },
          note: `${n} events: fetch ${BATCH} (durable pull), JSON.parse each, one transaction with a prepared ${BATCH}-row INSERT and a checkpoint UPDATE, COMMIT, then ack() of the last message (AckPolicy.All); strictly sequential`,
        },
      );
      addCpuFigures(ctx, 'raw.pipeline.fetch500.tx', pipelineCpu, 'client = the bench process');
    } finally {
      client.release();
    }
  }
}
