import path from 'node:path';
import { Command } from 'commander';
import { sparkSyncHome } from '../../config/paths';
import { SparkSyncError } from '../../errors/spark-sync-error';
import { startDevBroker, stopDevBroker } from '../../dev/dev-broker';
import { globalOptions } from '../global-options';
import { exitCodesHelp, printSummary } from '../output';

const defaultDataDir = () => path.join(sparkSyncHome(), 'broker');

export function brokerCommand(): Command {
  const broker = new Command('broker')
    .description('a real single-node Apache Kafka broker (KRaft) on 127.0.0.1, for development')
    .addHelpText('after', `\nExample:\n  spark-sync broker start --port 9092 && spark-sync broker stop\n${exitCodesHelp([0, 1, 2, 3])}`);
  broker
    .command('start')
    .description('start the broker in the background; returns when it accepts clients')
    .option('--port <port>', 'client port', '9092')
    .option('--data-dir <dir>', 'config, logs and data (default: $SPARK_SYNC_HOME/broker)')
    .addHelpText('after', `\nExample:\n  spark-sync broker start --port 9092 --data-dir /tmp/kafka && spark-sync broker stop --data-dir /tmp/kafka\n${exitCodesHelp([0, 1, 2, 3], { 3: 'the broker did not come up (safe to retry)' })}`)
    .action(async (opts: { port: string; dataDir?: string }, cmd: Command) => {
      const { log } = globalOptions(cmd);
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new SparkSyncError('USAGE', `--port must be a port number, not '${opts.port}'`);
      }
      const b = await startDevBroker({ port, dataDir: opts.dataDir ?? defaultDataDir(), detached: true, log });
      log.info({ bootstrap: b.bootstrap, pid: b.pid, data_dir: b.dataDir }, `Kafka broker running on ${b.bootstrap}`);
      printSummary({ command: 'broker start', bootstrap: b.bootstrap, pid: b.pid, data_dir: b.dataDir });
    });
  broker
    .command('stop')
    .description('stop the broker started from --data-dir and wait until its process is gone')
    .option('--data-dir <dir>', 'as given to start (default: $SPARK_SYNC_HOME/broker)')
    .addHelpText('after', `\nExample:\n  spark-sync broker stop --data-dir /tmp/kafka\n${exitCodesHelp([0, 1, 2], { 0: 'stopped, or no broker was running' })}`)
    .action(async (opts: { dataDir?: string }, cmd: Command) => {
      const { log } = globalOptions(cmd);
      const dataDir = path.resolve(opts.dataDir ?? defaultDataDir());
      const stopped = await stopDevBroker(dataDir);
      log.info({ data_dir: dataDir }, stopped ? 'broker stopped' : 'no broker was running');
      printSummary({ command: 'broker stop', data_dir: dataDir, stopped });
    });
  return broker;
}
