/**
 * The `topics` table: how the last submit of each topic reached Kafka (brokers, checkpoint topic,
 * the path of its client properties), so that `reset` on the same machine changes the checkpoint
 * topic too without being told again. Never a secret: the properties file stays where it is.
 */
import type { SqliteDb } from './sqlite-db';

export interface TopicConnection {
  bootstrapServers: string[];
  /** null: that submit kept the checkpoint local (`--checkpoint-topic none`). */
  checkpointTopic: string | null;
  /** The path of its `--kafka-config`, if any. */
  kafkaConfig: string | null;
}

export async function rememberConnection(db: SqliteDb, topic: string, c: TopicConnection): Promise<void> {
  await db.run('INSERT OR REPLACE INTO topics (kafka_topic, bootstrap_servers, checkpoint_topic, kafka_config, updated_at) VALUES (?, ?, ?, ?, ?)', [
    topic, c.bootstrapServers.join(','), c.checkpointTopic, c.kafkaConfig, new Date().toISOString(),
  ]);
}

/** The topic's last connection, or undefined (never submitted here, or by a spark-sync older than this table). */
export async function connectionOf(db: SqliteDb, topic: string): Promise<TopicConnection | undefined> {
  const tables = await db.get<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'topics'");
  if (!tables?.n) return undefined;
  const row = await db.get<{ bootstrap_servers: string; checkpoint_topic: string | null; kafka_config: string | null }>('SELECT * FROM topics WHERE kafka_topic = ?', [topic]);
  return row && { bootstrapServers: row.bootstrap_servers.split(','), checkpointTopic: row.checkpoint_topic, kafkaConfig: row.kafka_config };
}
