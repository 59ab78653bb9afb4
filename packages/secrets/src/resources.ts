/**
 * What a client of the API needs of this package, without its stores, database client or cryptography: the
 * resource shapes (the API's wire format), the naming rules and the value limit. `attune` in remote mode loads only
 * this (`@attune/secrets/resources`).
 */
export { toKeyPageResource, toKeyResource, toKeyVersionResource } from './keys/key-dto.js';
export { MAX_VALUE_BYTES } from './limits.js';
export { envVarName, validateSecretName } from './names.js';
