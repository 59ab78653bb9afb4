/** The token resource (the API's wire format), without the store or hashing: `@attune/auth/resources`. */
export { toTokenResource } from './token-dto.js';
