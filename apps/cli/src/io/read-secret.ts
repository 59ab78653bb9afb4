import { isUtf8 } from 'node:buffer';
import { createInterface } from 'node:readline';
import { MAX_VALUE_BYTES } from '@attune/secrets/resources';
import { UsageError } from '../args.js';
import type { CliIo } from './cli-io.js';

/** Reads a secret: from stdin when it is piped, else from a prompt that does not echo. */
export async function readSecret(io: CliIo, prompt: string): Promise<string> {
  if (!io.stdin.isTTY) {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of io.stdin) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      size += bytes.length;
      // Room for the value's limit and a trailing CRLF; more is refused without holding it all in memory.
      if (size > MAX_VALUE_BYTES + 2)
        throw new UsageError(
          `the value read from stdin is over ${MAX_VALUE_BYTES} bytes, the largest a secret may be`,
        );
      chunks.push(bytes);
    }
    const bytes = Buffer.concat(chunks);
    // Decoding would silently turn each invalid byte into U+FFFD and store a different secret than the one piped.
    if (!isUtf8(bytes))
      throw new UsageError(
        'the value read from stdin is not UTF-8 text (pipe text, or base64-encode binary data)',
      );
    const text = bytes.toString('utf8');
    return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
  }
  io.stderr.write(prompt);
  const rl = createInterface({ input: io.stdin, terminal: true });
  // Echo nothing while the value is typed.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
  const answer = await new Promise<string>((resolve) => rl.question('', resolve));
  rl.close();
  io.stderr.write('\n');
  return answer;
}
