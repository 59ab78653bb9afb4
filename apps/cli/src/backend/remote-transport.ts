/**
 * Remote mode's transport: how the CLI talks to the API and treats its answers as untrusted — no redirect followed,
 * answers capped, the API's errors turned back into the error the service would have thrown locally (same code,
 * category and exit code), its words made printable.
 */
import { AttuneError, ERROR_CATEGORIES, type ErrorCategory } from '@attune/core';
import { printable } from '../io/printable.js';

/** An error answer's body (`{"error": {code, category, message, field?}}`, docs/api.md#errors). */
export type ErrorBody = { error?: { code?: string; category?: string; message?: string; field?: string } };

/** A command that needs the database or the encryption key, asked for in remote mode. */
export class RemoteModeError extends AttuneError {
  constructor(command: string) {
    super({
      code: 'ATTUNE_CLI_LOCAL_ONLY',
      category: 'invalid',
      message: `\`attune ${command}\` works on the database directly, which remote mode (ATTUNE_API_URL) does not reach: run it where DATABASE_URL and the keys are configured, without ATTUNE_API_URL.`,
    });
  }
}

/** The API could not be reached. Names the address and the system's reason (a code), never a message of a library. */
export class ApiUnreachableError extends AttuneError {
  constructor(url: string, cause: unknown) {
    const c = cause as { code?: unknown; cause?: { code?: unknown } } | undefined;
    const code = [c?.cause?.code, c?.code].find(
      (x): x is string => typeof x === 'string' && /^[A-Z_]+$/.test(x),
    );
    super({
      code: 'ATTUNE_CLI_API_UNREACHABLE',
      category: 'unavailable',
      message: `The API at ${url} could not be reached${code ? ` (${code})` : ''}; is \`attune api\` running there?`,
    });
  }
}

/** The API answered something the CLI cannot take: a redirect, no body, or more than it could ever send. */
export class BadAnswerError extends AttuneError {
  constructor(url: string, what: string) {
    super({
      code: 'ATTUNE_CLI_API_BAD_ANSWER',
      category: 'unavailable',
      message: `The API at ${url} ${what}`,
    });
  }
}

/** The largest answer read (an execution with both outputs at their cap is far below it). */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/**
 * `fetch` as remote mode uses it: redirects are refused, not followed (a redirect could send a value, or with a
 * same-origin hop the token, somewhere else), and an answer is read up to {@link MAX_ANSWER_BYTES}.
 */
export function guardedFetch(apiUrl: string): (request: Request) => Promise<Response> {
  return async (request) => {
    const response = await fetch(request, { redirect: 'manual' });
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      throw new BadAnswerError(
        apiUrl,
        `answered with a redirect (${response.status}), which attune does not follow: set ATTUNE_API_URL to the API's own address`,
      );
    }
    const declared = Number(response.headers.get('content-length') ?? 0);
    const tooLarge = () =>
      new BadAnswerError(
        apiUrl,
        `answered more than ${MAX_ANSWER_BYTES / 1024 / 1024} MiB; nothing of it was used`,
      );
    if (declared > MAX_ANSWER_BYTES) {
      await response.body?.cancel();
      throw tooLarge();
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (response.body) {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > MAX_ANSWER_BYTES) {
          await reader.cancel();
          throw tooLarge();
        }
        chunks.push(value);
      }
    }
    const empty = response.status === 204 || response.status === 304;
    return new Response(empty ? null : Buffer.concat(chunks), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/** An error answer of the API, as the error the service would have thrown locally: same code, category, exit code. */
export function apiError(status: number, body: ErrorBody | undefined): AttuneError {
  const e = body?.error;
  const category: ErrorCategory = (ERROR_CATEGORIES as readonly string[]).includes(e?.category ?? '')
    ? (e?.category as ErrorCategory)
    : status === 401
      ? 'unauthenticated'
      : status === 403
        ? 'denied'
        : status === 404
          ? 'not_found'
          : status === 429
            ? 'rate_limited'
            : status >= 500
              ? 'unavailable'
              : 'invalid';
  return new AttuneError({
    code:
      typeof e?.code === 'string' && /^[A-Z0-9_]{1,80}$/.test(e.code) ? e.code : `ATTUNE_API_HTTP_${status}`,
    category,
    // The server's words, made printable: an answer must not drive the terminal.
    message: printable(typeof e?.message === 'string' ? e.message : `The API answered ${status}.`),
    field: e?.field,
  });
}
