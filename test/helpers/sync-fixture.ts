import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before } from 'node:test';
import { KafkaConfig } from 'kafkajs';
import { DevBroker } from '../../src/dev';
import { isAlive } from '../../src/util/processes';
import { fileBroker, sharedBroker, tempDir } from './broker-fixture';
import { CliResult, runCli } from './cli';
import { assertExactTopic } from './topic-reader';

export interface SyncFixtureOptions {
  /**
   * Every submit adds `--create-topic --partitions <n>`, unless a call says otherwise. Without
   * it, a submit adds neither flag.
   */
  partitions?: number;
  /** Every submit adds `--batch-size <rows>`, unless a call says otherwise. */
  batchSize?: number;
  /** Set beside SPARK_SYNC_HOME for every CLI run of the file. */
  env?: Record<string, string>;
  /** The time each submit and verify gets before it is SIGKILLed (runCli's default otherwise). */
  timeoutMs?: number;
  /** The temp folder's name prefix. */
  tempPrefix?: string;
  /**
   * Starts the file's broker, given the temp folder, in place of a plain one (`startBroker()`):
   * a broker with TLS and SASL, say. The fixture stops it either way.
   */
  broker?: (dir: string) => Promise<DevBroker>;
}

/** runCli's options, and environment variables added to the fixture's for this run. */
export type RunOptions = NonNullable<Parameters<typeof runCli>[2]> & { env?: Record<string, string> };

export interface SubmitOptions extends RunOptions {
  /** `--checkpoint`; `checkpoint(topic)` by default. */
  checkpoint?: string;
  /** `--batch-size`; the fixture's by default, none with `null`. */
  batchSize?: number | null;
  /** `--create-topic --partitions <n>`; the fixture's by default, neither flag with `null`. */
  partitions?: number | null;
}

export interface SyncFixture {
  /** The file's broker, once the fixture's `before` hook has run (see {@link brokerReady}). */
  readonly broker: DevBroker;
  /**
   * Resolves once the broker is up. Node runs a file's top-level `before` hooks concurrently, not
   * one after another, so a file's own hook that needs the broker awaits this first; tests run
   * after every hook, and need not.
   */
  brokerReady(): Promise<void>;
  /** The file's temp folder: sample files, checkpoints and SPARK_SYNC_HOME (`home`) live here. */
  readonly dir: string;
  /** The environment of every CLI run: SPARK_SYNC_HOME and SPARK_LOCAL_IP, plus the fixture's `env`. */
  readonly env: Record<string, string>;
  /** A checkpoint of the topic's own: `<dir>/<topic>.db`. */
  checkpoint(topic: string): string;
  /** Runs the CLI with the fixture's environment (and `options.env`). */
  cli(args: string[], options?: RunOptions): Promise<CliResult>;
  /**
   * `spark-sync submit --source <source> --topic <topic> --bootstrap-server <broker>
   * --checkpoint <checkpoint(topic)> [--batch-size <rows>] [--create-topic --partitions <n>]
   * ...args`, with the fixture's defaults unless `options` overrides or drops them.
   */
  submit(source: string, topic: string, args?: string[], options?: SubmitOptions): Promise<CliResult>;
  /** `spark-sync verify --topic <topic> --bootstrap-server <broker> --checkpoint <checkpoint(topic)> --json ...args`. */
  verify(topic: string, args?: string[], options?: RunOptions & { checkpoint?: string }): Promise<CliResult>;
  /**
   * Writes a `spark-sync sample` file of `rows` rows (a name is taken inside `dir`) and fails the
   * test if that fails; resolves to the file's path.
   */
  sample(file: string, rows: number, rowGroupBytes?: number, format?: 'parquet' | 'orc'): Promise<string>;
  /** Asserts the topic holds exactly `keys`: every one once, nothing missing, duplicated or foreign. */
  assertExact(topic: string, keys: Set<string>, security?: Pick<KafkaConfig, 'sasl' | 'ssl'>): Promise<void>;
}

/**
 * The set-up every integration test file shares, registered as node:test `before` and `after`
 * hooks of the calling file: a real broker, a temp folder and the environment the CLI runs with;
 * `after` stops the broker and fails the file if its process outlives it. Call it once, at the
 * file's top level; what else a file needs (a cluster, HDFS) it starts in its own `before`,
 * which runs after this one. Node runs `after` hooks in the order they were registered, so the
 * broker stops before the file's own `after` runs.
 */
export function useSyncFixture(options: SyncFixtureOptions = {}): SyncFixture {
  // The folder and environment exist from the start: node runs a file's top-level `before` hooks
  // concurrently, so the file's own hooks may write samples while the broker is still starting.
  const dir = tempDir(options.tempPrefix);
  // Spark's driver binds loopback too: this machine's hostname resolves to another address.
  const env: Record<string, string> = { SPARK_SYNC_HOME: path.join(dir, 'home'), SPARK_LOCAL_IP: '127.0.0.1', ...options.env };
  let broker: DevBroker | undefined;
  let starting: Promise<DevBroker> | undefined;

  before(async () => {
    // A broker of its own only where the file needs one (TLS, SASL, ACLs); else the run's shared one.
    starting = options.broker ? options.broker(dir) : fileBroker();
    broker = await starting;
  });

  after(async () => {
    if (broker === undefined) return;
    await broker.stop();
    if (options.broker || !sharedBroker()) assert.equal(isAlive(broker.pid), false, `broker pid ${broker.pid} still running after stop`);
  });

  const fixture: SyncFixture = {
    get broker() {
      if (broker === undefined) throw new Error("the sync fixture's broker is up once its before hook has run: in a file's own hook, await t.brokerReady() first");
      return broker;
    },
    dir,
    env,
    brokerReady: async () => {
      if (starting === undefined) throw new Error('the sync fixture starts its broker in its before hook: call brokerReady() from a hook or test');
      await starting;
    },
    checkpoint: (topic) => path.join(fixture.dir, `${topic}.db`),
    cli: (args, { env: extraEnv = {}, ...runOptions } = {}) => runCli(args, { ...fixture.env, ...extraEnv }, runOptions),
    submit(source, topic, args = [], { checkpoint = fixture.checkpoint(topic), batchSize = options.batchSize, partitions = options.partitions, ...runOptions } = {}) {
      return fixture.cli(
        [
          'submit', '--source', source, '--topic', topic, '--bootstrap-server', fixture.broker.bootstrap, '--checkpoint', checkpoint,
          ...(batchSize == null ? [] : ['--batch-size', String(batchSize)]),
          ...(partitions == null ? [] : ['--create-topic', '--partitions', String(partitions)]),
          ...args,
        ],
        { timeoutMs: options.timeoutMs, ...runOptions },
      );
    },
    verify(topic, args = [], { checkpoint = fixture.checkpoint(topic), ...runOptions } = {}) {
      return fixture.cli(['verify', '--topic', topic, '--bootstrap-server', fixture.broker.bootstrap, '--checkpoint', checkpoint, '--json', ...args], { timeoutMs: options.timeoutMs, ...runOptions });
    },
    async sample(file, rows, rowGroupBytes, format) {
      const output = path.resolve(fixture.dir, file);
      const r = await fixture.cli([
        'sample', ...(format === undefined ? [] : ['--format', format]), '--rows', String(rows), '--output', output,
        ...(rowGroupBytes === undefined ? [] : ['--row-group-bytes', String(rowGroupBytes)]),
      ]);
      assert.equal(r.code, 0, r.stderr);
      return output;
    },
    assertExact: (topic, keys, security = {}) => assertExactTopic(fixture.broker.bootstrap, topic, keys, security),
  };
  return fixture;
}
