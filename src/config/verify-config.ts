import path from 'node:path';
import { KafkaConnection, kafkaConnection } from './kafka-connection';
import { optionsSchema, parseOrThrow } from './options-schema';
import { defaultCheckpointPath } from './paths';
import type { SubmitInput } from './submit-config';

/** A validated `verify`: the topic, how to reach Kafka, and the checkpoint. */
export interface VerifyConfig extends KafkaConnection {
  topic: string;
  checkpoint: string;
}

/** What `verify` takes: the topic, how to reach Kafka, and the checkpoint, as `submit`'s. */
export type VerifyInput = Pick<SubmitInput, 'topic' | 'bootstrapServer' | 'checkpoint' | 'kafkaConfig' | 'kafkaProperties'>;

/** A validated `verify`: checked before any broker or JVM is touched. */
export function parseVerifyConfig(input: VerifyInput, env: NodeJS.ProcessEnv = process.env): VerifyConfig {
  const c = parseOrThrow(verifySchema, input, 'verify');
  return { topic: c.topic, checkpoint: path.resolve(c.checkpoint ?? defaultCheckpointPath(env)), ...kafkaConnection(c) };
}

const verifySchema = optionsSchema.pick({ topic: true, bootstrapServer: true, checkpoint: true, kafkaConfig: true, kafkaProperties: true });
