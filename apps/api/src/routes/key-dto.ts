import type { Principal } from '@attune/auth';
import { type KeyRecord, toKeyResource, toKeyVersionResource } from '@attune/secrets';
import { may } from '../plugins/auth.js';

/** The ETag of a key: its current version (a write may send it back as If-Match for check-and-set). */
export function etag(k: KeyRecord): string {
  return `"${k.version}"`;
}

/**
 * The answer to a write: it never holds a value the token could not read otherwise — only the value the request
 * itself sent, or a plain value when the token may read keys.
 */
export function writeAnswer(k: KeyRecord, sentValue: boolean, principal: Principal | undefined) {
  const dto = keyDto(k);
  const readable = sentValue || may(principal, 'keys:read');
  return readable ? dto : { ...dto, value: null };
}

/** A key on the wire: the one shape the CLI prints too (`toKeyResource`, `@attune/secrets`). */
export const keyDto = toKeyResource;

/** A version on the wire (docs/api.md#versions). */
export const keyVersionDto = toKeyVersionResource;
