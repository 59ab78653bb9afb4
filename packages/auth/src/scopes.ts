/** Scopes a token can hold. `admin` implies every other. */
export const SCOPES = [
  'keys:read',
  'keys:decrypt',
  'keys:write',
  'executions:run',
  'audit:read',
  'admin',
] as const;
/** One of {@link SCOPES}. */
export type Scope = (typeof SCOPES)[number];

/** The caller a valid token identifies. */
export interface Principal {
  readonly tokenId: number;
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
}

/** Whether a principal holds a scope (directly or through `admin`). */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has(scope) || principal.scopes.has('admin');
}
