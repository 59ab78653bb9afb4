import { hasScope, type Principal, type Scope, type TokenStore } from '@attune/auth';
import type { ExecutionMessage } from '@attune/broker';
import type { Database } from '@attune/db';
import {
  ActionNotFoundError,
  EnqueueFailedError,
  enqueueExecution,
  InvalidParametersError,
} from '@attune/registry';
import {
  EncryptionKeyRequiredError,
  InvalidKeyInputError,
  KeyConflictError,
  KeyNotFoundError,
  type KeyOwner,
  type KeyRecord,
  type KeyRepository,
  KeyUndecryptableError,
  OwnerNotFoundError,
  type SecretValue,
  ValueTooLargeError,
} from '@attune/secrets';
import helmet from '@fastify/helmet';
import rateLimit, { normalizeIP } from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import * as s from './schemas.js';

/** What the API needs: the database, the key repository, tokens, a publisher of executions, a logger. */
export interface ApiDependencies {
  readonly db: Database;
  readonly keys: KeyRepository;
  readonly tokens: TokenStore;
  readonly publish: (message: ExecutionMessage) => Promise<void>;
  readonly logger: Logger;
  /** Largest request body accepted; larger ones get 413. */
  readonly maxBodyBytes: number;
  /** Requests without a valid token per client address per minute before 429 (default 20). */
  readonly authFailureLimit?: number;
  /** Requests per valid token per minute before 429 (default 600). */
  readonly rateLimitPerMinute?: number;
  /**
   * Proxies whose X-Forwarded-For is believed for the client address (addresses or CIDRs); none by default, so
   * that a client cannot pick its own address.
   */
  readonly trustedProxies?: readonly string[];
}

/** Refuses an /api/ request without a valid token (after the rate limit has counted it). */
async function requireAuthentication(req: FastifyRequest): Promise<void> {
  if (req.principal) return;
  const header = req.headers.authorization;
  throw new HttpError(
    401,
    'ATTUNE_API_UNAUTHENTICATED',
    header?.startsWith('Bearer ') ? 'The bearer token is not valid.' : 'Send Authorization: Bearer <token>.',
  );
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

/** An error the API answers with: status, stable code, message, and the field at fault. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * Whether the request matched an API route. Decided on the route Fastify matched, not the raw URL, so that no
 * spelling of a path (`//api/…`, `%2Fapi`, a query string) is treated differently from the route it reaches.
 */
function isApiRoute(req: FastifyRequest): boolean {
  return req.routeOptions.url?.startsWith('/api/') === true;
}

/**
 * Builds the HTTP API (docs/api.md). Routes are validated by their JSON schemas, authenticated by bearer token,
 * authorised by scope; bad input never writes anything and never yields a 500.
 */
export async function buildApi(deps: ApiDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'api' }) as unknown as FastifyBaseLogger,
    bodyLimit: deps.maxBodyBytes,
    ...(deps.trustedProxies?.length ? { trustProxy: [...deps.trustedProxies] } : {}),
    // No type coercion: a secrets API must not turn null into "" or "1" into 1. Query strings are parsed by hand.
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false },
    },
  });

  // The seed's curl example sends JSON without a Content-Type (curl -d defaults to form encoding): accept a JSON body
  // under that type too, rather than make the documented example fail.
  // Parsed by Fastify's own JSON parser, so `__proto__` and `constructor.prototype` keys are refused here as they
  // are for application/json.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (req, body, done) =>
    parseJson(req, body as string, (error, value) =>
      error
        ? done(new HttpError(400, 'ATTUNE_API_BAD_JSON', 'The request body is not JSON.'), undefined)
        : done(null, value),
    ),
  );

  await app.register(helmet, { contentSecurityPolicy: false, global: true });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Attune secrets API',
        version: '1.0.0',
        description: 'Keys, packs, actions and executions. See docs/api.md.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  // Authentication identifies the caller; refusing the unauthenticated comes after the rate limit, so that an
  // address sending bad tokens is limited while valid tokens from it keep working.
  app.addHook('onRequest', async (req) => {
    if (!isApiRoute(req)) return;
    const header = req.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const principal = token ? await deps.tokens.verify(token) : null;
    if (principal) req.principal = principal;
  });
  const perMinute = deps.rateLimitPerMinute ?? 600;
  const failureLimit = deps.authFailureLimit ?? 20;
  await app.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    timeWindow: '1 minute',
    // Bounded memory: the least recently seen callers are forgotten first.
    cache: 10_000,
    // A valid token has a budget of its own; requests without one share their address's, which is the failed-
    // authentication limit on /api/ (the open pages, /openapi.json and /docs, get the ordinary budget).
    keyGenerator: (req) =>
      req.principal
        ? `token:${req.principal.tokenId}`
        : `${isApiRoute(req) ? 'unauthenticated' : 'open'}:${normalizeIP(req.ip, 64)}`,
    max: async (_req, key) => (key.startsWith('unauthenticated:') ? failureLimit : perMinute),
    errorResponseBuilder: (req, context) =>
      new HttpError(
        429,
        'ATTUNE_API_RATE_LIMITED',
        req.principal || !isApiRoute(req)
          ? `Too many requests; try again in ${context.after}.`
          : `Too many requests without a valid token from this address; try again in ${context.after}.`,
      ),
  });
  // Runs after the rate limit (a route's own onRequest hooks come after the global ones, the limit's first).
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/')) return;
    const hooks =
      route.onRequest === undefined
        ? []
        : Array.isArray(route.onRequest)
          ? route.onRequest
          : [route.onRequest];
    route.onRequest = [...hooks, requireAuthentication];
  });

  app.setErrorHandler((error, req, reply) => sendError(error, req, reply));
  // Unknown paths count against the caller's budget too (the limit's global hook covers matched routes only).
  app.setNotFoundHandler({ preHandler: app.rateLimit() }, (req, reply) => {
    void reply.code(404).send({
      error: { code: 'ATTUNE_API_NOT_FOUND', message: `No route ${req.method} ${req.url.split('?')[0]}.` },
    });
  });

  const need = (req: FastifyRequest, scope: Scope, hide = false) => {
    if (!req.principal || !hasScope(req.principal, scope)) {
      if (hide) throw new HttpError(404, 'ATTUNE_API_NOT_FOUND', 'Not found.');
      throw new HttpError(403, 'ATTUNE_API_FORBIDDEN', `This token lacks the ${scope} scope.`);
    }
  };
  const errors = {
    400: s.errorResponse,
    401: s.errorResponse,
    403: s.errorResponse,
    404: s.errorResponse,
    409: s.errorResponse,
    413: s.errorResponse,
    429: s.errorResponse,
  };

  app.post<{ Body: Record<string, unknown> }>(
    '/api/v1/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'Create a key (scope keys:write)',
        body: s.createKeyBody,
        response: {
          201: { type: 'object', properties: { data: s.keyDto, message: { type: 'string' } } },
          ...errors,
        },
      },
    },
    async (req, reply) => {
      need(req, 'keys:write');
      const b = req.body;
      const record = await deps.keys.create({
        ...(b.ref === undefined ? {} : { ref: b.ref as string }),
        owner: ownerOf(b),
        name: b.name as string,
        value: b.value as SecretValue,
        encrypted: b.encrypted as boolean,
      });
      return reply
        .code(201)
        .send({ data: writeAnswer(record, true, req.principal), message: `Key ${record.ref} created` });
    },
  );

  app.get<{
    Querystring: {
      owner_type?: 'system' | 'pack' | 'action';
      owner_pack?: string;
      owner_action?: string;
      page?: string;
      per_page?: string;
    };
  }>(
    '/api/v1/keys',
    {
      schema: {
        tags: ['keys'],
        summary: 'List keys, without encrypted values (scope keys:read)',
        querystring: s.listKeysQuery,
        response: errors,
      },
    },
    async (req) => {
      need(req, 'keys:read');
      const q = req.query;
      const page = await deps.keys.list({
        ...(q.owner_type ? { ownerType: q.owner_type } : {}),
        ...(q.owner_pack ? { pack: idOrRef(q.owner_pack, 'owner_pack') } : {}),
        ...(q.owner_action ? { action: idOrRef(q.owner_action, 'owner_action') } : {}),
        page: Number(q.page ?? 1),
        perPage: Number(q.per_page ?? 50),
      });
      return {
        data: page.items.map(keyDto),
        pagination: {
          page: page.page,
          per_page: page.perPage,
          total: page.total,
          total_pages: Math.ceil(page.total / page.perPage),
        },
      };
    },
  );

  app.get<{ Params: { ref: string }; Querystring: { decrypt?: 'true' | 'false' } }>(
    '/api/v1/keys/:ref',
    {
      schema: {
        tags: ['keys'],
        summary: 'Read a key; ?decrypt=true returns the plaintext (scopes keys:read, keys:decrypt)',
        params: s.keyRefParams,
        querystring: s.getKeyQuery,
        response: { 200: { type: 'object', properties: { data: s.keyDto } }, ...errors },
      },
    },
    async (req) => {
      need(req, 'keys:read', true);
      const decrypt = req.query.decrypt === 'true';
      if (decrypt) need(req, 'keys:decrypt');
      return { data: keyDto(await deps.keys.get(req.params.ref, { decrypt })) };
    },
  );

  app.put<{ Params: { ref: string }; Body: { value?: SecretValue; encrypted?: boolean } }>(
    '/api/v1/keys/:ref',
    {
      schema: {
        tags: ['keys'],
        summary:
          'Change a key’s value and/or encryption (scope keys:write; encrypted:false without a new value stores the plaintext, so it also needs keys:read and keys:decrypt)',
        params: s.keyRefParams,
        body: s.updateKeyBody,
        response: {
          200: { type: 'object', properties: { data: s.keyDto, message: { type: 'string' } } },
          ...errors,
        },
      },
    },
    async (req) => {
      need(req, 'keys:write');
      // Making an encrypted key plain without a new value stores, and answers, its plaintext: that is a decrypt.
      if (req.body.encrypted === false && req.body.value === undefined) {
        need(req, 'keys:read');
        need(req, 'keys:decrypt');
      }
      const record = await deps.keys.update(req.params.ref, req.body);
      return {
        data: writeAnswer(record, req.body.value !== undefined, req.principal),
        message: `Key ${record.ref} updated`,
      };
    },
  );

  app.delete<{ Params: { ref: string } }>(
    '/api/v1/keys/:ref',
    {
      schema: {
        tags: ['keys'],
        summary: 'Delete a key (scope keys:write)',
        params: s.keyRefParams,
        response: errors,
      },
    },
    async (req, reply) => {
      need(req, 'keys:write');
      await deps.keys.delete(req.params.ref);
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/v1/packs',
    { schema: { tags: ['packs'], summary: 'List packs (any valid token)', response: errors } },
    async () => {
      const packs = await deps.db.prisma.pack.findMany({ orderBy: { ref: 'asc' } });
      return {
        data: packs.map((p) => ({
          id: p.id,
          ref: p.ref,
          label: p.label,
          version: p.version,
          description: p.description,
        })),
      };
    },
  );

  app.get<{ Querystring: { pack?: string } }>(
    '/api/v1/actions',
    {
      schema: {
        tags: ['packs'],
        summary: 'List actions, optionally of one pack (any valid token)',
        querystring: s.listActionsQuery,
        response: errors,
      },
    },
    async (req) => {
      const actions = await deps.db.prisma.action.findMany({
        where: req.query.pack ? { pack: { ref: req.query.pack } } : {},
        orderBy: { ref: 'asc' },
      });
      return {
        data: actions.map((a) => ({
          id: a.id,
          ref: a.ref,
          runner_type: a.runnerType,
          entry_point: a.entryPoint,
          parameters: a.parameters,
          timeout: a.timeoutSeconds,
          secrets: a.expectedSecrets,
          network: a.network,
        })),
      };
    },
  );

  app.post<{ Body: { action_ref: string; parameters: Record<string, unknown> } }>(
    '/api/v1/executions',
    {
      schema: {
        tags: ['executions'],
        summary: 'Request an execution; it is queued for the workers (scope executions:run)',
        body: s.createExecutionBody,
        response: errors,
      },
    },
    async (req, reply) => {
      need(req, 'executions:run');
      const id = await enqueueExecution(
        deps.db.prisma,
        deps.publish,
        req.body.action_ref,
        req.body.parameters,
      );
      return reply
        .code(202)
        .send({ data: { id: String(id), action_ref: req.body.action_ref, status: 'requested' } });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/executions/:id',
    {
      schema: {
        tags: ['executions'],
        summary: 'Read an execution; output and result are masked (scope executions:run)',
        params: s.executionParams,
        response: errors,
      },
    },
    async (req) => {
      need(req, 'executions:run');
      const id = BigInt(req.params.id);
      // The pattern admits 19 digits; ids are PostgreSQL bigints.
      if (id > 9_223_372_036_854_775_807n)
        throw new HttpError(
          400,
          'ATTUNE_API_INVALID',
          'The execution id is above the largest id (2^63 − 1).',
          'id',
        );
      const row = await deps.db.prisma.execution.findUnique({ where: { id } });
      if (!row) throw new HttpError(404, 'ATTUNE_API_NOT_FOUND', `No execution ${req.params.id}.`);
      return {
        data: {
          id: String(row.id),
          action_ref: row.actionRef,
          status: row.status,
          parameters: row.parameters,
          result: row.result,
          stdout: row.stdout,
          stderr: row.stderr,
          stdout_truncated: row.stdoutTruncated,
          stderr_truncated: row.stderrTruncated,
          exit_code: row.exitCode,
          duration_ms: row.durationMs,
          warnings: row.warnings,
          worker_id: row.workerId,
          created: row.created,
          started_at: row.startedAt,
          finished_at: row.finishedAt,
        },
      };
    },
  );

  return app;
}

function ownerOf(b: Record<string, unknown>): KeyOwner {
  const type = b.owner_type as KeyOwner['type'];
  const extra = (names: string[]) => names.filter((n) => b[n] !== undefined);
  if (type === 'system') {
    const given = extra(['owner_pack', 'owner_pack_ref', 'owner_action', 'owner_action_ref']);
    if (given.length)
      throw new HttpError(
        400,
        'ATTUNE_API_INVALID',
        `A system key has no owner; remove ${given.join(', ')}.`,
        given[0],
      );
    return { type };
  }
  const [idField, refField, other] =
    type === 'pack'
      ? ['owner_pack', 'owner_pack_ref', ['owner_action', 'owner_action_ref']]
      : ['owner_action', 'owner_action_ref', ['owner_pack', 'owner_pack_ref']];
  const wrong = extra(other as string[]);
  if (wrong.length)
    throw new HttpError(
      400,
      'ATTUNE_API_INVALID',
      `A ${type} key takes ${idField} or ${refField}, not ${wrong.join(', ')}.`,
      wrong[0],
    );
  const given = b[idField as string] ?? b[refField as string];
  if (given === undefined || (b[idField as string] !== undefined && b[refField as string] !== undefined)) {
    throw new HttpError(
      400,
      'ATTUNE_API_INVALID',
      `A ${type} key needs exactly one of ${idField} (id) or ${refField} (ref).`,
      idField as string,
    );
  }
  return type === 'pack'
    ? { type, pack: given as number | string }
    : { type: 'action', action: given as number | string };
}

function idOrRef(text: string, field: string): number | string {
  if (!/^[0-9]+$/.test(text)) return text;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1 || n > 2_147_483_647)
    throw new HttpError(
      400,
      'ATTUNE_API_INVALID',
      `${field} is not an id (1 to 2147483647) nor a ref.`,
      field,
    );
  return n;
}

/**
 * The answer to a write: it never holds a value the token could not read otherwise — only the value the request
 * itself sent, or a plain value when the token may read keys.
 */
function writeAnswer(k: KeyRecord, sentValue: boolean, principal: Principal | undefined) {
  const dto = keyDto(k);
  const readable = sentValue || (principal !== undefined && hasScope(principal, 'keys:read'));
  return readable ? dto : { ...dto, value: null };
}

function keyDto(k: KeyRecord) {
  return {
    id: k.id,
    ref: k.ref,
    owner_type: k.ownerType,
    owner_pack: k.ownerPack,
    owner_action: k.ownerAction,
    name: k.name,
    env_name: k.envName,
    value: k.value,
    encrypted: k.encrypted,
    encryption_key_hash: k.encryptionKeyHash,
    created: k.created,
    updated: k.updated,
  };
}

function sendError(error: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const e = error as {
    validation?: Array<{ instancePath?: string; params?: Record<string, unknown>; message?: string }>;
    validationContext?: string;
    statusCode?: number;
    code?: string;
  };
  let status = 500;
  let body: { code: string; message: string; field?: string };
  if (error instanceof HttpError) {
    status = error.status;
    body = { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) };
  } else if (e.validation) {
    const first = e.validation[0];
    const path = (first?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    const field =
      (first?.params?.missingProperty as string | undefined) ??
      (first?.params?.additionalProperty as string | undefined) ??
      (path || e.validationContext || 'body');
    const what = first?.params?.additionalProperty
      ? 'is not a known field'
      : (first?.message ?? 'is invalid');
    status = 400;
    body = {
      code: 'ATTUNE_API_INVALID',
      message: `${e.validationContext ?? 'body'}: ${field} ${what}`,
      field,
    };
  } else if (error instanceof ValueTooLargeError) {
    status = 413;
    body = { code: error.code, message: error.message, field: 'value' };
  } else if (error instanceof InvalidKeyInputError) {
    status = 400;
    body = { code: error.code, message: error.message, field: error.field };
  } else if (error instanceof KeyConflictError) {
    status = 409;
    body = { code: error.code, message: error.message, field: error.field };
  } else if (error instanceof KeyNotFoundError || error instanceof ActionNotFoundError) {
    status = 404;
    body = { code: error.code, message: error.message };
  } else if (
    error instanceof OwnerNotFoundError ||
    error instanceof EncryptionKeyRequiredError ||
    error instanceof InvalidParametersError
  ) {
    status = 400;
    body = { code: error.code, message: error.message };
  } else if (error instanceof EnqueueFailedError) {
    status = 503;
    body = { code: error.code, message: error.message };
  } else if (error instanceof KeyUndecryptableError) {
    status = 409;
    body = { code: error.code, message: error.message };
  } else if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    // Fastify's own client errors: body too large (413), bad JSON (400), unsupported media type (415).
    status = e.statusCode;
    body = {
      code: e.code ?? 'ATTUNE_API_BAD_REQUEST',
      message:
        status === 413 ? 'The request body is larger than the limit.' : 'The request could not be read.',
    };
  } else {
    req.log.error({ err: { name: (error as Error)?.name, code: e.code } }, 'unexpected error');
    body = { code: 'ATTUNE_API_INTERNAL', message: 'Internal error; nothing was changed by this request.' };
  }
  void reply.code(status).send({ error: body });
}
