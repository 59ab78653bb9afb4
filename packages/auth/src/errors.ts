import { AttuneError } from '@attune/core';

/** A token request was refused (bad name or scope, name taken, unknown token). */
export class TokenError extends AttuneError {
  declare readonly code: 'ATTUNE_AUTH_INVALID' | 'ATTUNE_AUTH_CONFLICT' | 'ATTUNE_AUTH_NOT_FOUND';

  constructor(code: TokenError['code'], message: string) {
    super({
      code,
      category:
        code === 'ATTUNE_AUTH_CONFLICT'
          ? 'conflict'
          : code === 'ATTUNE_AUTH_NOT_FOUND'
            ? 'not_found'
            : 'invalid',
      message,
    });
  }
}
