import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, ResourcePatternTypes, logLevel } from 'kafkajs';
import { startDevBroker } from '../../src/dev';
import { uniqueTopic } from '../helpers/broker-fixture';
import { expectedSampleKeys } from '../helpers/sample-rows';
import { useSyncFixture } from '../helpers/sync-fixture';

/**
 * Issue 24: a principal that may write the data topic but not create or write the checkpoint
 * topic. A real broker with SASL/SCRAM and Kafka's StandardAuthorizer (ACLs, nothing allowed
 * unless granted); the broker's own user is the super user that grants. spark-sync must stop
 * before any data is written, in one line naming the topic and the permission it lacks.
 */
const ROWS = 2_000;
const USERS = { broker: 'broker-secret', limited: 'limited-secret' };
const CHECKPOINTS = 'spark-sync-checkpoints';

const t = useSyncFixture({
  tempPrefix: 'spark-sync-acl-',
  broker: (dir) => startDevBroker({
    dataDir: path.join(dir, 'broker'),
    scram: { users: USERS, brokerUser: 'broker' },
    extraConfig: {
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      // The controller listener is plaintext on loopback: its principal is ANONYMOUS.
      'super.users': 'User:broker;User:ANONYMOUS',
      'allow.everyone.if.no.acl.found': 'false',
    },
  }),
});
let source = '';
let clientConfig = '';
let kafka: Kafka;

before(async () => {
  await t.brokerReady();
  source = await t.sample('acl.parquet', ROWS);
  clientConfig = path.join(t.dir, 'limited.properties');
  fs.writeFileSync(clientConfig, [
    'security.protocol=SASL_PLAINTEXT',
    'sasl.mechanism=SCRAM-SHA-512',
    `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="limited" password="${USERS.limited}";`,
    '',
  ].join('\n'));
  kafka = new Kafka({ clientId: 'acl-admin', brokers: [t.broker.bootstrap], logLevel: logLevel.NOTHING, sasl: { mechanism: 'scram-sha-512', username: 'broker', password: USERS.broker } });
});

const allow = (resourceType: AclResourceTypes, resourceName: string, operation: AclOperationTypes) => ({
  resourceType, resourceName, resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:limited', host: '*', operation, permissionType: AclPermissionTypes.ALLOW,
});

async function messagesIn(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, o) => n + Number(o.high), 0);
  } finally {
    await admin.disconnect();
  }
}

test('issue 24: a principal that may write the data topic but not create or write the checkpoint topic stops before any data, naming the topic and the permission; granted them, it syncs exactly', async () => {
  const topic = uniqueTopic('acl');
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  // Everything the data topic needs, nothing on the checkpoint topic or the transactional id.
  await admin.createAcls({ acl: [AclOperationTypes.ALL].map((op) => allow(AclResourceTypes.TOPIC, topic, op)) });
  await admin.disconnect();
  const submit = () => t.submit(source, topic, ['--kafka-config', clientConfig], { partitions: null });

  const noCreate = await submit();
  const line = (r: typeof noCreate) => r.stderr.split('\n').filter((l) => l.startsWith('spark-sync: error'));
  process.stderr.write(`# acl, checkpoint topic missing: exit ${noCreate.code}: ${line(noCreate)[0]}\n`);
  assert.ok(noCreate.code === 2 || noCreate.code === 3, noCreate.stderr.slice(-1500));
  assert.equal(line(noCreate).length, 1, noCreate.stderr.slice(-1500));
  assert.match(line(noCreate)[0], new RegExp(`\\[KAFKA_NOT_AUTHORIZED\\].*checkpoint topic ${CHECKPOINTS}.*Create permission`));
  assert.equal(await messagesIn(topic), 0, 'no data was written');

  // An administrator creates the checkpoint topic and lets the principal read it, not write it.
  const admin2 = kafka.admin();
  await admin2.connect();
  await admin2.createTopics({ topics: [{ topic: CHECKPOINTS, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }], waitForLeaders: true });
  await admin2.createAcls({ acl: [allow(AclResourceTypes.TOPIC, CHECKPOINTS, AclOperationTypes.READ), allow(AclResourceTypes.TOPIC, CHECKPOINTS, AclOperationTypes.DESCRIBE)] });
  await admin2.disconnect();
  const noWrite = await submit();
  process.stderr.write(`# acl, checkpoint topic read-only: exit ${noWrite.code}: ${line(noWrite)[0]}\n`);
  assert.ok(noWrite.code === 2 || noWrite.code === 3, noWrite.stderr.slice(-1500));
  assert.equal(line(noWrite).length, 1, noWrite.stderr.slice(-1500));
  assert.match(line(noWrite)[0], new RegExp(`\\[KAFKA_NOT_AUTHORIZED\\].*transactional id spark-sync-${topic} \\(Write and Describe\\).*checkpoint topic ${CHECKPOINTS}.*grant the principal`));
  assert.equal(await messagesIn(topic), 0, 'no data was written');

  // The grants the error names: then it syncs.
  const admin3 = kafka.admin();
  await admin3.connect();
  await admin3.createAcls({ acl: [
    allow(AclResourceTypes.TOPIC, CHECKPOINTS, AclOperationTypes.WRITE),
    allow(AclResourceTypes.TRANSACTIONAL_ID, `spark-sync-${topic}`, AclOperationTypes.WRITE),
    allow(AclResourceTypes.TRANSACTIONAL_ID, `spark-sync-${topic}`, AclOperationTypes.DESCRIBE),
  ] });
  await admin3.disconnect();
  const granted = await submit();
  assert.equal(granted.code, 0, granted.stderr.slice(-1500));
  await t.assertExact(topic, new Set(expectedSampleKeys(ROWS, 'acl.parquet')), { sasl: { mechanism: 'scram-sha-512', username: 'broker', password: USERS.broker } });
});
