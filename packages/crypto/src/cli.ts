/**
 * `attune-crypto`: keygen, hash, encrypt and decrypt from the command line. Values travel on stdin and stdout only,
 * never in argv; the key comes from ATTUNE__SECURITY__ENCRYPTION_KEY. Usage: packages/crypto/README.md.
 */
import { EncryptionKey } from './encryption-key.js';
import { CryptoError, KeyMissingError } from './errors.js';
import { generatePassword } from './password.js';

/** Environment variable holding the password, named as the seed's config key `security.encryption_key`. */
export const ENCRYPTION_KEY_ENV = 'ATTUNE__SECURITY__ENCRYPTION_KEY';

const USAGE = `Usage: attune-crypto <command> [options]

Commands:
  keygen                 print a new random encryption key (43 characters)
  hash                   print the key hash of the configured key
  encrypt [--context C]  encrypt the value read from stdin; with --context, the v1 format bound to C
  decrypt [--context C]  decrypt the ciphertext read from stdin

Options:
  --context C   context (e.g. a secret's ref) that a v1 ciphertext is bound to; not secret
  --raw         keep a trailing newline of the input (by default one trailing newline is dropped)
  -h, --help    show this help

The key is read from ${ENCRYPTION_KEY_ENV}, never from the command line.
Example:
  export ${ENCRYPTION_KEY_ENV}="$(attune-crypto keygen)"
  printf '%s' 'sk_live_abc123' | attune-crypto encrypt --context mypack.api_key
`;

interface Io {
  readonly stdin: AsyncIterable<Buffer | string>;
  readonly stdout: { write(text: string): unknown; isTTY?: boolean };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
}

class UsageError extends Error {}

/** Runs the CLI and returns its exit code: 0 done, 1 the value was refused, 2 usage or configuration error. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  try {
    const { command, context, raw } = parseArgs(argv);
    switch (command) {
      case 'help':
        io.stdout.write(USAGE);
        return 0;
      case 'keygen':
        io.stdout.write(`${generatePassword()}\n`);
        return 0;
      case 'hash':
        io.stdout.write(`${loadKey(io.env).keyHash}\n`);
        return 0;
      case 'encrypt': {
        const key = loadKey(io.env);
        const value = await readInput(io.stdin, raw);
        io.stdout.write(`${key.encrypt(value, context === undefined ? undefined : { context })}\n`);
        return 0;
      }
      case 'decrypt': {
        const key = loadKey(io.env);
        const ciphertext = (await readInput(io.stdin, false)).trim();
        const plaintext = key.decrypt(ciphertext, context === undefined ? undefined : { context });
        io.stdout.write(io.stdout.isTTY ? `${plaintext}\n` : plaintext);
        return 0;
      }
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`attune-crypto: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof CryptoError) {
      io.stderr.write(`attune-crypto: ${error.message} [${error.code}]\n`);
      return error instanceof KeyMissingError || error.code === 'ATTUNE_CRYPTO_KEY_TOO_SHORT' ? 2 : 1;
    }
    throw error;
  }
}

function parseArgs(argv: readonly string[]): {
  command: 'help' | 'keygen' | 'hash' | 'encrypt' | 'decrypt';
  context: string | undefined;
  raw: boolean;
} {
  let command: string | undefined;
  let context: string | undefined;
  let raw = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-h' || arg === '--help') return { command: 'help', context, raw };
    if (arg === '--raw') raw = true;
    else if (arg === '--context') {
      context = argv[++i];
      if (context === undefined) throw new UsageError('--context needs a value');
    } else if (arg.startsWith('--context=')) context = arg.slice('--context='.length);
    else if (arg.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
    else if (command === undefined) command = arg;
    else
      throw new UsageError(`unexpected argument after '${command}' (values are read from stdin, never argv)`);
  }
  if (command === undefined) throw new UsageError('no command given');
  if (!['keygen', 'hash', 'encrypt', 'decrypt', 'help'].includes(command)) {
    throw new UsageError(`unknown command '${command}'`);
  }
  if (context !== undefined && command !== 'encrypt' && command !== 'decrypt') {
    throw new UsageError(`--context applies to encrypt and decrypt only`);
  }
  return { command: command as 'keygen', context, raw };
}

function loadKey(env: Io['env']): EncryptionKey {
  const password = env[ENCRYPTION_KEY_ENV];
  if (password === undefined || password === '') throw new KeyMissingError();
  return EncryptionKey.fromPassword(password);
}

async function readInput(stdin: Io['stdin'], raw: boolean): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  if (raw) return text;
  return text.endsWith('\r\n') ? text.slice(0, -2) : text.endsWith('\n') ? text.slice(0, -1) : text;
}
