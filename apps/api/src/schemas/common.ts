/** Schemas of the API (docs/api.md): pieces every resource's schemas use: names, refs, ids, values, errors, paging. */

export const ref = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]*$',
} as const;

export const name = {
  type: 'string',
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9_][A-Za-z0-9_-]*$',
} as const;

export const id = { type: 'integer', minimum: 1, maximum: 2147483647 } as const;

/** A pack or action in a query string: its id or its ref (ids above 2^31 − 1 are refused by the route). */
export const idOrRefQuery = { ...ref } as const;

export const secretValue = {
  description: 'A string, or structured JSON (object, array, number, boolean).',
  anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }, { type: 'object' }, { type: 'array' }],
} as const;

export const errorResponse = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        category: {
          type: 'string',
          description: 'Decides the status and the CLI exit code (docs/api.md#errors).',
        },
        message: { type: 'string' },
        field: { type: 'string' },
      },
      required: ['code', 'message'],
    },
  },
} as const;

/** The error answers every route documents (docs/api.md#errors). */
export const errorResponses = {
  400: errorResponse,
  401: errorResponse,
  403: errorResponse,
  404: errorResponse,
  409: errorResponse,
  413: errorResponse,
  429: errorResponse,
};

export const cursor = { type: 'string', pattern: '^[1-9][0-9]{0,18}$' } as const;

export const limit = {
  type: 'string',
  pattern: '^([1-9][0-9]{0,2}|1000)$',
  description: '1–1000 (default 100).',
} as const;

/** Any JSON value (parameters, results, a structured secret value). */
export const anyJson = {} as const;

export const noContent = { type: 'null', description: 'No content.' } as const;

/** `{"data": [item, …]}`: a list answer. */
export function listOf<const T>(items: T) {
  return { type: 'object', properties: { data: { type: 'array', items } } } as const;
}

/** `{"data": [item, …], "next": cursor | null}`: a page of a list paged by cursor. */
export function cursorPageOf<const T>(items: T) {
  return {
    type: 'object',
    properties: { data: { type: 'array', items }, next: { type: ['string', 'null'] } },
  } as const;
}
