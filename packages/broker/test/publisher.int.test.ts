import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { ExecutionPublisher } from '../src/broker.js';
import { isolatedBroker } from '../src/testing.js';

const AMQP_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
const ISOLATED = isolatedBroker('publisher', AMQP_URL);

afterAll(async () => {
  await ISOLATED.remove();
});

/** Open broker connections named for this process's publishers. */
function publisherConnections(): number {
  const listing = execFileSync('rabbitmqctl', ['list_connections', 'client_properties', '-q'], {
    encoding: 'utf8',
  });
  return listing.split('\n').filter((line) => line.includes(`"attune-publisher-${process.pid}"`)).length;
}

describe('ExecutionPublisher', () => {
  it('shares one connection between concurrent publishes, and closes it', async () => {
    const publisher = new ExecutionPublisher(ISOLATED.config);
    await Promise.all(
      Array.from({ length: 25 }, (_, i) => publisher.publish({ execution_id: i + 1, action_ref: 'p.a' })),
    );
    expect(publisherConnections()).toBe(1);
    await publisher.close();
    // The broker lists a closed connection until it has processed the close.
    for (let i = 0; i < 50 && publisherConnections() > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(publisherConnections()).toBe(0);
  });
});
