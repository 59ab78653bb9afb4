import type { AuditFilter } from '@attune/audit';
import type { RemoteConfig } from '@attune/config';
import { type Actor, AttuneError, formatDuration } from '@attune/core';
import type { ExecutionStatus, WaitOptions } from '@attune/executions';
import { isTerminal } from '@attune/executions/resources';
import type { CreateKeyInput, KeyPage, ListKeysInput, UpdateKeyInput } from '@attune/secrets';
import createClient from 'openapi-fetch';
import type { paths } from '../generated/api.js';
import {
  type AuditDto,
  type ExecutionDto,
  type KeyDto,
  ownerBody,
  type TokenDto,
  toAuditEvent,
  toExecutionRecord,
  toKeyRecord,
  toSecretUse,
  toTokenRecord,
  toVersionRecord,
  type UsageDto,
  type UseDto,
  type VersionDto,
} from './remote-records.js';
import {
  ApiUnreachableError,
  apiError,
  BadAnswerError,
  type ErrorBody,
  guardedFetch,
  RemoteModeError,
} from './remote-transport.js';
import type {
  AuditCommands,
  Backend,
  CommandServices,
  KeyCommands,
  RunCommands,
  TokenCommands,
  UsageCommands,
} from './services.js';

export { RemoteModeError } from './remote-transport.js';

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
            ...expiryBody(input.expiresAt),
          },
        }),
      );
      return { key: toKeyRecord(answer.data as KeyDto), created: answer.created === true };
    },
    update: async (_actor: Actor, ref: string, input: UpdateKeyInput) => {
      const answer = await this.#call(() =>
        this.#client.PUT('/api/v1/keys/{ref}', {
          params: { path: { ref } },
          body: {
            ...(input.value === undefined ? {} : { value: input.value as never }),
            ...(input.encrypted === undefined ? {} : { encrypted: input.encrypted }),
            ...(input.maxVersions === undefined ? {} : { max_versions: input.maxVersions }),
            ...(input.expectedVersion === undefined ? {} : { expected_version: input.expectedVersion }),
            ...expiryBody(input.expiresAt),
          },
        }),
      );
      return toKeyRecord(answer.data as KeyDto);
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
        // As a duration in its largest exact unit (what the API reads: at most 9 digits).
        ...(input.expiringWithinMs === undefined ? {} : { expiring: formatDuration(input.expiringWithinMs) }),
        ...(input.expired ? { expired: 'true' as const } : {}),
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

/** `expires_at` of a request body (an absent expiry stays absent; null: never). */
function expiryBody(expiresAt: Date | null | undefined): { expires_at?: string | null } {
  return expiresAt === undefined ? {} : { expires_at: expiresAt?.toISOString() ?? null };
}
