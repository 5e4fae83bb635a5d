import type { ChildProcess } from 'node:child_process';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { describeExit, tailOfFile, whenExited } from './child-process.js';
import { sleep } from './ports.js';

const POLL_MS = 250;

/**
 * Resolves once the broker is ready for the services, failing early (quoting the broker log) if
 * the process exits, or after `timeoutMs`. Ready means more than answering a metadata request:
 * a fresh broker creates __consumer_offsets on the first group request and answers "coordinator
 * loading" for a moment after, and hands out producer ids only once the controller has given it
 * a block. kafkajs retries through both, but logs each try at ERROR and restarts consumers, which
 * on every first start reads like a failure. Asking once here (under a second) spares that.
 */
export async function waitForKafka(
  brokers: string,
  broker: ChildProcess,
  logFile: string,
  timeoutMs: number,
): Promise<void> {
  // Silent, no retries: refused connections are the expected answer for the first seconds.
  const kafka = new Kafka({
    clientId: 'sightline-stack',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  });
  const exited = whenExited(broker).then(() => 'exited' as const);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // Each attempt is bounded by the connection and request timeouts above, so the deadline is
    // overshot by a few seconds at most; racing only the exit keeps no stray timer alive.
    const outcome = await Promise.race([isReady(kafka), exited]);
    if (outcome === 'ready') return;
    if (outcome === 'exited') {
      throw new Error(
        `Kafka ${describeExit(broker)} before it was ready on ${brokers}; last lines of ${logFile}:\n${await tailOfFile(logFile)}`,
      );
    }
    await sleep(POLL_MS);
  }
  throw new Error(
    `Kafka was not ready on ${brokers} within ${timeoutMs / 1000} s; last lines of ${logFile}:\n${await tailOfFile(logFile)}`,
  );
}

async function isReady(kafka: Kafka): Promise<'ready' | 'not yet'> {
  const admin = kafka.admin({ retry: { retries: 0 } });
  // The producer only asks for a producer id when it connects; it sends nothing. kafkajs
  // refuses an idempotent producer without retries, so it gets the smallest allowed.
  const producer = kafka.producer({
    idempotent: true,
    retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 200 },
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  try {
    await admin.connect();
    // Also loads the broker list, which kafkajs needs before it can look up a group coordinator.
    await admin.describeCluster();
    // An offset fetch for a group that never exists still goes through the group coordinator.
    await admin.fetchOffsets({ groupId: 'sightline-stack-readiness', topics: [] });
    await producer.connect();
    return 'ready';
  } catch {
    return 'not yet';
  } finally {
    await admin.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
  }
}
