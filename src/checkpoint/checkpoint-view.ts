/**
 * Reading a topic's checkpoint where it is authoritative: the checkpoint topic when it holds the
 * topic's state (any machine sees the same), else the local file. For `verify` and `status`,
 * which read and never write.
 */
import type { KafkaAdmin } from '../kafka/kafka-admin';
import { CheckpointTopic, TopicState } from './checkpoint-topic';
import type { BatchCheckpoint, FileCheckpoint } from './rows';

/** What readers of a checkpoint need: its files and their committed batches. */
export interface CheckpointView {
  /** Where the state was read, for messages: a file path or `kafka topic <name>`. */
  readonly where: string;
  listFiles(topic?: string): Promise<FileCheckpoint[]>;
  listBatches(topic: string, fileName: string): Promise<BatchCheckpoint[]>;
}

/**
 * The target topic's state in the checkpoint topic, or undefined when that topic does not exist
 * or holds nothing of the target yet (no run with the checkpoint topic has synced it).
 */
export async function readTopicState(options: { name: string; target: string; kafkaConf: string[]; admin: KafkaAdmin }): Promise<CheckpointView | undefined> {
  if ((await options.admin.partitionCount(options.name)) === undefined) return undefined;
  const log = await CheckpointTopic.open({ ...options, create: false });
  try {
    const state = await log.read();
    return state.published ? viewOf(state, options.name) : undefined;
  } finally {
    await log.close();
  }
}

function viewOf(state: TopicState, name: string): CheckpointView {
  const records = [...state.files.values()].filter((r) => r !== null).sort((a, b) => (a!.file.fileName < b!.file.fileName ? -1 : a!.file.fileName > b!.file.fileName ? 1 : 0));
  return {
    where: `kafka topic ${name}`,
    listFiles: async (topic) => records.map((r) => r!.file).filter((f) => topic === undefined || f.topic === topic),
    listBatches: async (topic, fileName) => records.find((r) => r!.file.topic === topic && r!.file.fileName === fileName)?.batches ?? [],
  };
}
