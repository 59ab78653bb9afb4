/**
 * `@attune/broker/testing`: a topology of one's own on a shared RabbitMQ, for test files and benchmarks. Not for
 * production code.
 */
import amqp from 'amqplib';
import type { BrokerConfig } from './broker.js';

/** A broker configuration whose exchange and queues no other process uses, with what a test needs around it. */
export interface IsolatedBroker {
  readonly config: BrokerConfig;
  /** The environment that points a worker process at `config` (its `broker` section as `ATTUNE__BROKER__*`). */
  readonly env: Readonly<Record<string, string>>;
  /** Deletes the exchange and both queues; safe to call when they were never declared. */
  remove(): Promise<void>;
}

/**
 * Names an exchange and queues after `label`, this process and a random suffix, so test files and benchmarks that
 * share one broker never see each other's messages.
 */
export function isolatedBroker(label: string, url: string): IsolatedBroker {
  const prefix = `attune.${label}.${process.pid}.${Math.random().toString(36).slice(2, 8)}`;
  const config: BrokerConfig = {
    url,
    exchange: `${prefix}.x`,
    queue: `${prefix}.q`,
    deadLetterQueue: `${prefix}.dead`,
    reconnectMaxMs: 1000,
  };
  return {
    config,
    env: {
      AMQP_URL: url,
      ATTUNE__BROKER__EXCHANGE: config.exchange,
      ATTUNE__BROKER__QUEUE: config.queue,
      ATTUNE__BROKER__DEAD_LETTER_QUEUE: config.deadLetterQueue,
    },
    async remove() {
      const connection = await amqp.connect(url);
      try {
        const channel = await connection.createChannel();
        for (const queue of [config.queue, config.deadLetterQueue]) {
          await channel.deleteQueue(queue).catch(() => undefined);
        }
        await channel.deleteExchange(config.exchange).catch(() => undefined);
      } finally {
        await connection.close();
      }
    },
  };
}
