import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';

/** Broker settings (the `broker` section of the configuration). */
export interface BrokerConfig {
  /** amqp:// URL (may hold a password: never logged). */
  readonly url: string;
  readonly exchange: string;
  readonly queue: string;
  readonly deadLetterQueue: string;
  readonly reconnectMaxMs: number;
}

/** Routing key of execution messages on the executions exchange. */
export const EXECUTION_ROUTING_KEY = 'execution';

/** An execution message, as the reference implementation shapes it. */
export interface ExecutionMessage {
  readonly execution_id: number | string;
  readonly action_ref: string;
}

/**
 * Declares the topology (idempotent): a durable direct exchange, the shared durable queue bound to it, and the
 * dead-letter queue. Every worker and publisher asserts it, so start order does not matter.
 */
export async function assertTopology(channel: Channel, broker: BrokerConfig): Promise<void> {
  await channel.assertExchange(broker.exchange, 'direct', { durable: true });
  await channel.assertQueue(broker.queue, { durable: true });
  await channel.bindQueue(broker.queue, broker.exchange, EXECUTION_ROUTING_KEY);
  await channel.assertQueue(broker.deadLetterQueue, { durable: true });
}

/** Connects with a connection name that shows up in RabbitMQ's management views (and nothing secret). */
export function connectBroker(broker: BrokerConfig, name: string): Promise<ChannelModel> {
  return amqp.connect(broker.url, { clientProperties: { connection_name: name } });
}

/** What a broker error may say: its class and AMQP code, never the URL (it may hold a password). */
export function brokerErrorSummary(error: unknown): string {
  const e = error as { code?: unknown; message?: string };
  const message = (e?.message ?? String(error)).replace(/amqps?:\/\/[^\s"']+/g, 'amqp://…');
  return `${typeof e?.code === 'string' || typeof e?.code === 'number' ? `${e.code}: ` : ''}${message.slice(0, 200)}`;
}

/**
 * Publishes execution messages with publisher confirms: `publish` resolves once RabbitMQ has the message
 * (persistent, on a durable queue), and rejects otherwise.
 */
export class ExecutionPublisher {
  readonly #broker: BrokerConfig;
  #connection: ChannelModel | undefined;
  #channel: ConfirmChannel | undefined;
  /** The connection being opened: publishes made meanwhile wait for it instead of opening one each. */
  #opening: Promise<ConfirmChannel> | undefined;

  constructor(broker: BrokerConfig) {
    this.#broker = broker;
  }

  /** Sends one execution to the workers. */
  async publish(message: ExecutionMessage): Promise<void> {
    const channel = await this.#ensure();
    const body = Buffer.from(JSON.stringify(message));
    await new Promise<void>((resolve, reject) => {
      channel.publish(
        this.#broker.exchange,
        EXECUTION_ROUTING_KEY,
        body,
        { persistent: true, contentType: 'application/json', mandatory: true },
        (error) =>
          error
            ? reject(new Error(`the broker refused the message: ${brokerErrorSummary(error)}`))
            : resolve(),
      );
    });
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    const connection = this.#connection;
    this.#connection = undefined;
    this.#channel = undefined;
    await connection?.close().catch(() => undefined);
  }

  #ensure(): Promise<ConfirmChannel> {
    if (this.#channel) return Promise.resolve(this.#channel);
    this.#opening ??= this.#open().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  async #open(): Promise<ConfirmChannel> {
    const connection = await connectBroker(this.#broker, `attune-publisher-${process.pid}`);
    connection.on('error', () => undefined);
    connection.on('close', () => {
      if (this.#connection === connection) {
        this.#connection = undefined;
        this.#channel = undefined;
      }
    });
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => undefined);
    await assertTopology(channel, this.#broker);
    this.#connection = connection;
    this.#channel = channel;
    return channel;
  }
}

/** Parses and checks a message body. Returns the reason it is unusable instead of throwing. */
export function parseExecutionMessage(
  body: Buffer,
): { id: string; actionRef: string | undefined } | { reason: string } {
  let data: unknown;
  try {
    data = JSON.parse(body.toString('utf8'));
  } catch {
    return { reason: 'the message body is not JSON' };
  }
  if (!data || typeof data !== 'object' || Array.isArray(data))
    return { reason: 'the message is not a JSON object' };
  const { execution_id: id, action_ref: actionRef } = data as Record<string, unknown>;
  const text =
    typeof id === 'number' && Number.isSafeInteger(id) && id > 0
      ? String(id)
      : typeof id === 'string'
        ? id
        : '';
  if (!/^[1-9][0-9]{0,18}$/.test(text))
    return { reason: 'execution_id is missing or not a positive integer' };
  if (actionRef !== undefined && typeof actionRef !== 'string')
    return { reason: 'action_ref is not a string' };
  return { id: text, actionRef };
}
