import { assertTopology, brokerErrorSummary, connectBroker, parseExecutionMessage } from '@attune/broker';
import type { BrokerConfig } from '@attune/config';
import type { Logger } from '@attune/core';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';

/** What to do with a delivery once its execution was handled. */
export type Disposition =
  /** Its terminal state is stored (or known to be someone else's): acknowledge. */
  | { readonly kind: 'ack' }
  /** Not done here: back to the queue. */
  | { readonly kind: 'requeue' }
  /** It can never be run (no such execution): to the dead-letter queue, with the reason. */
  | { readonly kind: 'dead_letter'; readonly reason: string };

/**
 * The worker's side of RabbitMQ: connects (and reconnects with backoff), consumes the execution queue with a
 * prefetch of the worker's concurrency, hands each execution id to `handle`, and acknowledges, requeues or
 * dead-letters the delivery by what it answers. A delivery is acknowledged only after its execution's terminal
 * state is stored. See docs/deployment.md#failure-semantics.
 */
export class ExecutionConsumer {
  readonly #broker: BrokerConfig;
  readonly #concurrency: number;
  readonly #workerId: string;
  readonly #logger: Logger;
  readonly #handle: (executionId: string) => Promise<Disposition>;
  #connection: ChannelModel | undefined;
  #channel: Channel | undefined;
  #consumerTag: string | undefined;
  #stopping = false;
  #paused = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(options: {
    broker: BrokerConfig;
    concurrency: number;
    workerId: string;
    logger: Logger;
    handle: (executionId: string) => Promise<Disposition>;
  }) {
    this.#broker = options.broker;
    this.#concurrency = options.concurrency;
    this.#workerId = options.workerId;
    this.#logger = options.logger;
    this.#handle = options.handle;
  }

  /** Whether the connection is up and consuming. */
  get consuming(): boolean {
    return this.#consumerTag !== undefined;
  }

  /** Whether consumption is paused (see {@link ExecutionConsumer.pause}). */
  get paused(): boolean {
    return this.#paused;
  }

  /** Starts connecting and consuming, in the background. */
  start(): void {
    this.#loop = this.#connectLoop();
  }

  /** Stops taking deliveries (they stay queued for other workers) until {@link ExecutionConsumer.resume}. */
  async pause(): Promise<void> {
    if (this.#paused) return;
    this.#paused = true;
    await this.#cancel();
  }

  /** Takes deliveries again after {@link ExecutionConsumer.pause}. */
  async resume(): Promise<void> {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#channel) await this.#consume(this.#channel).catch(() => undefined);
  }

  /** Stops taking deliveries for good (draining); what arrives meanwhile goes back to the queue. */
  async stopConsuming(): Promise<void> {
    this.#stopping = true;
    await this.#cancel();
  }

  /** Closes the connection and ends the reconnect loop. */
  async close(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#connection?.close().catch(() => undefined);
    await this.#loop;
  }

  async #cancel(): Promise<void> {
    const channel = this.#channel;
    const tag = this.#consumerTag;
    this.#consumerTag = undefined;
    if (channel && tag) await channel.cancel(tag).catch(() => undefined);
  }

  async #consume(channel: Channel): Promise<void> {
    if (this.#paused || this.#stopping || this.#consumerTag !== undefined) return;
    const { consumerTag } = await channel.consume(this.#broker.queue, (msg) => {
      if (msg) void this.#onMessage(channel, msg);
    });
    this.#consumerTag = consumerTag;
    this.#logger.info({ queue: this.#broker.queue, prefetch: this.#concurrency }, 'consuming executions');
  }

  async #connectLoop(): Promise<void> {
    let delay = 250;
    while (!this.#stopping) {
      let closed: Promise<void> | undefined;
      try {
        ({ closed } = await this.#connect());
        delay = 250;
      } catch (error) {
        this.#logger.warn({ broker: brokerErrorSummary(error), retryInMs: delay }, 'broker unavailable');
      }
      if (closed) await closed;
      if (this.#stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay * (0.75 + Math.random() / 2));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      delay = Math.min(delay * 2, this.#broker.reconnectMaxMs);
    }
  }

  /** Connects and starts consuming; `closed` settles when the connection is gone. */
  async #connect(): Promise<{ closed: Promise<void> }> {
    const connection = await connectBroker(this.#broker, `attune-worker-${this.#workerId}`);
    const closed = new Promise<void>((resolve) => {
      connection.on('close', () => resolve());
    });
    connection.on('error', (error: Error) =>
      this.#logger.warn({ broker: brokerErrorSummary(error) }, 'broker connection error'),
    );
    try {
      const channel = await connection.createConfirmChannel();
      channel.on('error', (error: Error) =>
        this.#logger.warn({ broker: brokerErrorSummary(error) }, 'broker channel error'),
      );
      channel.on('close', () => {
        if (this.#channel === channel) {
          this.#channel = undefined;
          this.#consumerTag = undefined;
          if (!this.#stopping) this.#logger.warn('broker connection lost; reconnecting');
          void connection.close().catch(() => undefined);
        }
      });
      await assertTopology(channel, this.#broker);
      await channel.prefetch(this.#concurrency);
      this.#connection = connection;
      this.#channel = channel;
      if (this.#stopping) {
        await connection.close();
        return { closed };
      }
      await this.#consume(channel);
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
    return { closed };
  }

  async #onMessage(channel: Channel, msg: ConsumeMessage): Promise<void> {
    if (this.#stopping) {
      safely(() => channel.nack(msg, false, true)); // back to the queue for another worker
      return;
    }
    const parsed = parseExecutionMessage(msg.content);
    if ('reason' in parsed) return this.#deadLetter(channel, msg, parsed.reason);
    const disposition = await this.#handle(parsed.id);
    if (disposition.kind === 'ack') safely(() => channel.ack(msg));
    else if (disposition.kind === 'requeue') safely(() => channel.nack(msg, false, true));
    else await this.#deadLetter(channel, msg, disposition.reason);
  }

  async #deadLetter(channel: Channel, msg: ConsumeMessage, reason: string): Promise<void> {
    const broker = this.#broker;
    this.#logger.warn({ reason, deliveryTag: msg.fields.deliveryTag }, 'message dead-lettered');
    try {
      await new Promise<void>((resolve, reject) => {
        (channel as ConfirmChannel).sendToQueue(
          broker.deadLetterQueue,
          msg.content,
          {
            persistent: true,
            contentType: msg.properties.contentType,
            headers: {
              ...(msg.properties.headers ?? {}),
              'x-attune-reason': reason,
              'x-attune-worker': this.#workerId,
              'x-attune-original-queue': broker.queue,
            },
          },
          (error: unknown) => (error ? reject(error) : resolve()),
        );
      });
      safely(() => channel.ack(msg));
    } catch {
      // Not confirmed: leave it unacknowledged rather than lose it.
    }
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // The channel closed meanwhile: RabbitMQ redelivers what was not acknowledged.
  }
}
