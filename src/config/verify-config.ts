import path from 'node:path';
import { KafkaConnection, kafkaConnection } from './kafka-connection';
import { optionsSchema, parseOrThrow } from './options-schema';
import { defaultCheckpointPath } from './paths';
import type { SubmitInput } from './submit-config';

/** A validated `verify`: the topic, how to reach Kafka, and the checkpoint. */
export interface VerifyConfig extends KafkaConnection {
  topic: string;
  checkpoint: string;
  /** The checkpoint topic, read first (authoritative); null: the local file only. */
  checkpointTopic: string | null;
  /** `range`: each file's keys against its own offset ranges; `topic`: against every record of the topic. */
  scope: VerifyScope;
}

export type VerifyScope = 'range' | 'topic';

/** What `verify` takes: the topic, how to reach Kafka, and the checkpoint, as `submit`'s, and the scope. */
export type VerifyInput = Pick<SubmitInput, 'topic' | 'bootstrapServer' | 'checkpoint' | 'checkpointTopic' | 'kafkaConfig' | 'kafkaProperties'> & {
  /**
   * `range` (default): each file's keys against its own offset ranges, reading only those.
   * `topic`: against every record of the topic (a full join), so copies of a file's
   * records outside its ranges count as duplicated.
   */
  scope?: VerifyScope;
};

/** A validated `verify`: checked before any broker or JVM is touched. */
export function parseVerifyConfig(input: VerifyInput, env: NodeJS.ProcessEnv = process.env): VerifyConfig {
  const c = parseOrThrow(verifySchema, input, 'verify');
  return { topic: c.topic, checkpoint: path.resolve(c.checkpoint ?? defaultCheckpointPath(env)), checkpointTopic: c.checkpointTopic, scope: c.scope, ...kafkaConnection(c) };
}

const verifySchema = optionsSchema.pick({ topic: true, bootstrapServer: true, checkpoint: true, kafkaConfig: true, kafkaProperties: true, scope: true, checkpointTopic: true });
