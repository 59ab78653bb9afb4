import type { AuditEvent, AuditFilter } from '@attune/audit';
import type { TokenRecord } from '@attune/auth';
import type { RemoteConfig } from '@attune/config';
import { type Actor, AttuneError, ERROR_CATEGORIES, type ErrorCategory } from '@attune/core';
import type { ExecutionRecord, ExecutionStatus, SecretUse, WaitOptions } from '@attune/executions';
import { isTerminal } from '@attune/executions/resources';
import type {
  CreateKeyInput,
  KeyOwner,
  KeyPage,
  KeyRecord,
  KeyVersionRecord,
  ListKeysInput,
  SecretValue,
} from '@attune/secrets';
import createClient from 'openapi-fetch';
import type { paths } from '../generated/api.js';
import { printable } from '../io/printable.js';
import type {
  AuditCommands,
  Backend,
  CommandServices,
  KeyCommands,
  RunCommands,
  TokenCommands,
  UsageCommands,
} from './services.js';

type KeyDto = NonNullable<
  paths['/api/v1/keys/{ref}']['get']['responses'][200]['content']['application/json']['data']
>;
type VersionDto = NonNullable<
  paths['/api/v1/keys/{ref}/versions/{version}']['get']['responses'][200]['content']['application/json']['data']
>;
type TokenDto = NonNullable<
  paths['/api/v1/tokens/{name}']['delete']['responses'][200]['content']['application/json']['data']
>;
type AuditDto = NonNullable<
  paths['/api/v1/audit']['get']['responses'][200]['content']['application/json']['data']
>[number];
type UsageDto = NonNullable<
  paths['/api/v1/keys/{ref}/usage']['get']['responses'][200]['content']['application/json']['data']
>;
type UseDto = NonNullable<
  paths['/api/v1/keys/{ref}/versions/{version}/executions']['get']['responses'][200]['content']['application/json']['data']
>[number];
type ExecutionDto = NonNullable<
  paths['/api/v1/executions/{id}']['get']['responses'][200]['content']['application/json']['data']
>;
/** An error answer's body (`{"error": {code, category, message, field?}}`, docs/api.md#errors). */
type ErrorBody = { error?: { code?: string; category?: string; message?: string; field?: string } };

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
class ApiUnreachableError extends AttuneError {
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
class BadAnswerError extends AttuneError {
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
function guardedFetch(apiUrl: string): (request: Request) => Promise<Response> {
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
function apiError(status: number, body: ErrorBody | undefined): AttuneError {
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

function toKeyRecord(k: KeyDto): KeyRecord {
  return {
    id: k.id as number,
    ref: k.ref as string,
    ownerType: k.owner_type as KeyRecord['ownerType'],
    ownerPack: (k.owner_pack ?? null) as number | null,
    ownerAction: (k.owner_action ?? null) as number | null,
    name: k.name as string,
    envName: k.env_name as string,
    value: (k.value ?? null) as SecretValue | null,
    encrypted: k.encrypted === true,
    encryptionKeyHash: (k.encryption_key_hash ?? null) as string | null,
    created: new Date(k.created as string),
    updated: new Date(k.updated as string),
    version: k.version as number,
    dataKey: (k.data_key ?? null) as KeyRecord['dataKey'],
    maxVersions: (k.max_versions ?? null) as number | null,
    deletedAt: k.deleted_at ? new Date(k.deleted_at) : null,
  };
}

function toVersionRecord(ref: string, v: VersionDto): KeyVersionRecord {
  return {
    ref,
    version: v.version as number,
    current: v.current === true,
    origin: v.origin as KeyVersionRecord['origin'],
    sourceVersion: (v.source_version ?? null) as number | null,
    actor: v.actor as KeyVersionRecord['actor'],
    created: new Date(v.created as string),
    valueType: v.value_type as KeyVersionRecord['valueType'],
    encrypted: v.encrypted === true,
    encryptionKeyHash: (v.encryption_key_hash ?? null) as string | null,
    dataKey: (v.data_key ?? null) as KeyVersionRecord['dataKey'],
    destroyedAt: v.destroyed_at ? new Date(v.destroyed_at) : null,
    value: (v.value ?? null) as SecretValue | null,
  };
}

function toTokenRecord(t: TokenDto): TokenRecord {
  return {
    id: t.id as number,
    name: t.name as string,
    scopes: (t.scopes ?? []) as TokenRecord['scopes'],
    created: new Date(t.created as string),
    lastUsedAt: t.last_used_at ? new Date(t.last_used_at) : null,
    revokedAt: t.revoked_at ? new Date(t.revoked_at) : null,
  };
}

function toAuditEvent(e: AuditDto): AuditEvent {
  return {
    id: e.id as string,
    at: new Date(e.at as string),
    actor: e.actor as AuditEvent['actor'],
    source: e.source ?? null,
    requestId: e.request_id ?? null,
    action: e.action as string,
    ref: e.ref ?? null,
    version: e.version ?? null,
    outcome: e.outcome as AuditEvent['outcome'],
    detail: (e.detail ?? {}) as Record<string, unknown>,
    seq: null,
    prevHash: null,
    hash: e.hash ?? null,
  };
}

function toSecretUse(u: UseDto): SecretUse {
  return {
    executionId: u.execution_id as string,
    actionRef: u.action_ref as string,
    version: u.version as number,
    at: u.at ? new Date(u.at) : null,
    ...(u.status === undefined ? {} : { status: u.status as ExecutionStatus, workerId: u.worker_id ?? null }),
  };
}

function toExecutionRecord(e: ExecutionDto): ExecutionRecord {
  return {
    id: e.id as string,
    actionRef: e.action_ref as string,
    status: e.status as ExecutionStatus,
    parameters: e.parameters,
    result: e.result ?? null,
    stdout: e.stdout ?? null,
    stderr: e.stderr ?? null,
    stdoutTruncated: e.stdout_truncated === true,
    stderrTruncated: e.stderr_truncated === true,
    exitCode: e.exit_code ?? null,
    durationMs: e.duration_ms ?? null,
    warnings: (e.warnings ?? []) as ExecutionRecord['warnings'],
    secrets: (e.secrets ?? []) as ExecutionRecord['secrets'],
    workerId: e.worker_id ?? null,
    created: new Date(e.created as string),
    startedAt: e.started_at ? new Date(e.started_at) : null,
    finishedAt: e.finished_at ? new Date(e.finished_at) : null,
  };
}

/** The owner fields of a key request body. */
function ownerBody(owner: KeyOwner) {
  if (owner.type === 'system') return { owner_type: 'system' as const };
  if (owner.type === 'pack')
    return typeof owner.pack === 'number'
      ? { owner_type: 'pack' as const, owner_pack: owner.pack }
      : { owner_type: 'pack' as const, owner_pack_ref: owner.pack };
  return typeof owner.action === 'number'
    ? { owner_type: 'action' as const, owner_action: owner.action }
    : { owner_type: 'action' as const, owner_action_ref: owner.action };
}

/**
 * Remote mode (docs/cli.md#remote-mode): the commands' services over the HTTP API, through a client typed from the
 * API's own OpenAPI document (generated in the build). Only the API and the workers hold the database and the key;
 * the token comes from `ATTUNE_TOKEN`. Errors come back as the API's codes and categories, so a command exits as it
 * would locally. Commands that work on the database itself are refused ({@link RemoteModeError}).
 */
export class RemoteBackend implements Backend {
  readonly mode = 'remote';
  readonly #command: string;
  readonly #config: RemoteConfig;
  #clientWithToken: ReturnType<typeof createClient<paths>> | undefined;

  /** `command`: the command being run, named when remote mode cannot serve it. */
  constructor(config: RemoteConfig, command: string) {
    this.#config = config;
    this.#command = command;
  }

  /** The client, with the token read when first needed (`attune login` never reads a kept one). */
  get #client(): ReturnType<typeof createClient<paths>> {
    if (!this.#clientWithToken) {
      const token = this.#config.token();
      this.#clientWithToken = this.#clientFor(token);
    }
    return this.#clientWithToken;
  }

  #clientFor(token: string | undefined): ReturnType<typeof createClient<paths>> {
    return createClient<paths>({
      baseUrl: this.#config.apiUrl,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      fetch: guardedFetch(this.#config.apiUrl),
    });
  }

  /** The API this backend talks to. */
  get apiUrl(): string {
    return this.#config.apiUrl;
  }

  /** Checks that the API accepts `token` (any valid token may list packs). @throws the API's refusal */
  async checkToken(token: string): Promise<void> {
    const client = this.#clientFor(token);
    await this.#call(() => client.GET('/api/v1/packs'));
  }

  get databaseLocation(): string {
    return `the API at ${this.#config.apiUrl}`;
  }

  /** Runs one request; answers its data, or throws the API's error as an {@link AttuneError}. */
  async #call<T>(request: () => Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
    let answer: { data?: T; error?: unknown; response: Response };
    try {
      answer = await request();
    } catch (error) {
      if (error instanceof AttuneError) throw error;
      throw new ApiUnreachableError(this.#config.apiUrl, error);
    }
    if (!answer.response.ok) throw apiError(answer.response.status, answer.error as ErrorBody | undefined);
    if (answer.data === undefined && answer.response.status !== 204)
      throw new BadAnswerError(
        this.#config.apiUrl,
        `answered ${answer.response.status} without a body attune understands`,
      );
    return answer.data as T;
  }

  readonly #versions: KeyCommands['versions'] = {
    list: async (_actor: Actor, ref: string) => {
      const answer = await this.#call(() =>
        this.#client.GET('/api/v1/keys/{ref}/versions', { params: { path: { ref } } }),
      );
      return (answer.data ?? []).map((v) => toVersionRecord(ref, v as VersionDto));
    },
    get: async (_actor: Actor, ref: string, version: number, options: { decrypt?: boolean } = {}) => {
      const answer = await this.#call(() =>
        this.#client.GET('/api/v1/keys/{ref}/versions/{version}', {
          params: {
            path: { ref, version: String(version) },
            query: options.decrypt ? { decrypt: 'true' } : {},
          },
        }),
      );
      return toVersionRecord(ref, answer.data as VersionDto);
    },
    rollback: async (
      _actor: Actor,
      ref: string,
      version: number,
      options: { expectedVersion?: number } = {},
    ) => {
      const answer = await this.#call(() =>
        this.#client.POST('/api/v1/keys/{ref}/rollback', {
          params: { path: { ref } },
          body: {
            version,
            ...(options.expectedVersion === undefined ? {} : { expected_version: options.expectedVersion }),
          },
        }),
      );
      return toKeyRecord(answer.data as KeyDto);
    },
    destroy: async (_actor: Actor, ref: string, versions: readonly number[]) => {
      const answer = await this.#call(() =>
        this.#client.POST('/api/v1/keys/{ref}/versions/destroy', {
          params: { path: { ref } },
          body: { versions: [...versions] },
        }),
      );
      return (answer.data?.destroyed ?? []) as number[];
    },
  };

  readonly #keys: KeyCommands = {
    versions: this.#versions,
    set: async (_actor: Actor, input: CreateKeyInput) => {
      const answer = await this.#call(() =>
        this.#client.PUT('/api/v1/keys', {
          body: {
            ...ownerBody(input.owner),
            ...(input.ref === undefined ? {} : { ref: input.ref }),
            name: input.name,
            value: input.value as never,
            ...(input.encrypted === undefined ? {} : { encrypted: input.encrypted }),
            ...(input.maxVersions === undefined ? {} : { max_versions: input.maxVersions }),
            ...(input.expectedVersion === undefined ? {} : { expected_version: input.expectedVersion }),
          },
        }),
      );
      return { key: toKeyRecord(answer.data as KeyDto), created: answer.created === true };
    },
    get: async (_actor: Actor, ref: string, options: { decrypt?: boolean } = {}) => {
      const answer = await this.#call(() =>
        this.#client.GET('/api/v1/keys/{ref}', {
          params: { path: { ref }, query: options.decrypt ? { decrypt: 'true' } : {} },
        }),
      );
      return toKeyRecord(answer.data as KeyDto);
    },
    list: async (_actor: Actor, input: ListKeysInput = {}): Promise<KeyPage> => {
      const query = {
        ...(input.ownerType ? { owner_type: input.ownerType } : {}),
        ...(input.pack === undefined ? {} : { owner_pack: String(input.pack) }),
        ...(input.action === undefined ? {} : { owner_action: String(input.action) }),
        ...(input.deleted ? { deleted: 'true' as const } : {}),
        page: String(input.page ?? 1),
        per_page: String(input.perPage ?? 50),
      };
      const answer = await this.#call(() => this.#client.GET('/api/v1/keys', { params: { query } }));
      return {
        items: (answer.data ?? []).map((k) => toKeyRecord(k as KeyDto)),
        total: answer.pagination?.total ?? 0,
        page: answer.pagination?.page ?? 1,
        perPage: answer.pagination?.per_page ?? 50,
      };
    },
    delete: async (_actor: Actor, ref: string, options: { purge?: boolean } = {}) => {
      await this.#call(() =>
        this.#client.DELETE('/api/v1/keys/{ref}', {
          params: { path: { ref }, query: options.purge ? { purge: 'true' } : {} },
        }),
      );
    },
    undelete: async (_actor: Actor, ref: string) => {
      const answer = await this.#call(() =>
        this.#client.POST('/api/v1/keys/{ref}/undelete', { params: { path: { ref } } }),
      );
      return toKeyRecord(answer.data as KeyDto);
    },
  };

  readonly #tokens: TokenCommands = {
    create: async (_actor: Actor, name: string, scopes: readonly string[]) => {
      const answer = await this.#call(() =>
        this.#client.POST('/api/v1/tokens', { body: { name, scopes: [...scopes] } }),
      );
      const { token, ...record } = answer.data as TokenDto & { token: string };
      return { token, record: toTokenRecord(record) };
    },
    list: async () => {
      const answer = await this.#call(() => this.#client.GET('/api/v1/tokens'));
      return (answer.data ?? []).map((t) => toTokenRecord(t as TokenDto));
    },
    revoke: async (_actor: Actor, nameOrId: string | number) => {
      const answer = await this.#call(() =>
        this.#client.DELETE('/api/v1/tokens/{name}', { params: { path: { name: String(nameOrId) } } }),
      );
      return toTokenRecord(answer.data as TokenDto);
    },
  };

  readonly #audit: AuditCommands = {
    list: async (_actor: Actor, filter: AuditFilter) => {
      const query = {
        ...(filter.ref === undefined ? {} : { ref: filter.ref }),
        ...(filter.actor === undefined ? {} : { actor: filter.actor }),
        ...(filter.action === undefined ? {} : { action: filter.action }),
        ...(filter.from === undefined ? {} : { from: filter.from.toISOString() }),
        ...(filter.to === undefined ? {} : { to: filter.to.toISOString() }),
        ...(filter.before === undefined ? {} : { before: filter.before }),
        ...(filter.limit === undefined ? {} : { limit: String(filter.limit) }),
      };
      const answer = await this.#call(() => this.#client.GET('/api/v1/audit', { params: { query } }));
      return {
        events: (answer.data ?? []).map((e) => toAuditEvent(e as AuditDto)),
        next: answer.next ?? null,
      };
    },
    lookUpValue: async (_actor: Actor, value: string) => {
      const answer = await this.#call(() => this.#client.POST('/api/v1/audit/hash', { body: { value } }));
      return (answer.data ?? []).map((e) => toAuditEvent(e as AuditDto));
    },
    verify: async () => {
      throw new RemoteModeError('audit verify');
    },
    prune: async () => {
      throw new RemoteModeError('audit prune');
    },
  };

  readonly #usage: UsageCommands = {
    usage: async (_actor: Actor, ref: string, period: { from?: Date; to?: Date } = {}) => {
      const query = {
        ...(period.from ? { from: period.from.toISOString() } : {}),
        ...(period.to ? { to: period.to.toISOString() } : {}),
      };
      const answer = await this.#call(() =>
        this.#client.GET('/api/v1/keys/{ref}/usage', { params: { path: { ref }, query } }),
      );
      const u = answer.data as UsageDto;
      return {
        ref: u.ref as string,
        from: new Date(u.from as string),
        to: new Date(u.to as string),
        lastUse: u.last_use ? toSecretUse(u.last_use as UseDto) : null,
        byAction: (u.actions ?? []).map((a) => ({
          actionRef: a.action_ref as string,
          version: a.version as number,
          executions: a.executions as number,
          lastAt: new Date(a.last_at as string),
        })),
      };
    },
    receivedVersion: async (
      _actor: Actor,
      ref: string,
      version: number,
      page: { before?: string; limit?: number } = {},
    ) => {
      const query = {
        ...(page.before === undefined ? {} : { before: page.before }),
        ...(page.limit === undefined ? {} : { limit: String(page.limit) }),
      };
      const answer = await this.#call(() =>
        this.#client.GET('/api/v1/keys/{ref}/versions/{version}/executions', {
          params: { path: { ref, version: String(version) }, query },
        }),
      );
      return {
        executions: (answer.data ?? []).map((e) => toSecretUse(e as UseDto)),
        next: answer.next ?? null,
      };
    },
    unused: async (_actor: Actor, days: number) => {
      const answer = await this.#call(() =>
        this.#client.GET('/api/v1/usage/unused', { params: { query: { days: String(days) } } }),
      );
      return (answer.data ?? []).map((u) => ({
        ref: u.ref as string,
        level: u.level as string,
        created: new Date(u.created as string),
        lastUsedAt: u.last_used_at ? new Date(u.last_used_at) : null,
      }));
    },
  };

  readonly #executions: RunCommands = {
    request: async (_actor: Actor, actionRef: string, parameters: unknown) => {
      const answer = await this.#call(() =>
        this.#client.POST('/api/v1/executions', {
          body: { action_ref: actionRef, parameters: (parameters ?? {}) as Record<string, never> },
        }),
      );
      return BigInt(answer.data?.id as string);
    },
    get: async (_actor: Actor, id: bigint | string) => {
      const answer = await this.#call(() =>
        this.#client.GET('/api/v1/executions/{id}', { params: { path: { id: String(id) } } }),
      );
      return toExecutionRecord(answer.data as ExecutionDto);
    },
    waitFor: async (actor: Actor, id: bigint | string, options: WaitOptions) => {
      const deadline = Date.now() + options.timeoutMs;
      let shown: ExecutionStatus | undefined;
      for (;;) {
        const record = await this.#executions.get(actor, id);
        if (record.status !== shown) {
          shown = record.status;
          options.onStatus?.(record.status, record.workerId);
        }
        if (isTerminal(record.status)) return record;
        if (Date.now() >= deadline) return null;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
  };

  /** The services of the commands remote mode serves; any other refuses with what to do. */
  async services(): Promise<CommandServices> {
    const refuse = (): never => {
      throw new RemoteModeError(this.#command);
    };
    return {
      keys: this.#keys,
      executions: this.#executions,
      tokens: this.#tokens,
      audit: this.#audit,
      usage: this.#usage,
      get migrations() {
        return refuse();
      },
      get keyring() {
        return refuse();
      },
      get packs() {
        return refuse();
      },
    } as CommandServices;
  }

  async close(): Promise<void> {}
}
