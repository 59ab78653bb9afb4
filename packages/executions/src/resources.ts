/**
 * What a client of the API needs of this package, without its stores or database client: the execution, usage and
 * request resources, the text `attune run --wait` prints, and the status rules. `attune` in remote mode loads only
 * this (`@attune/executions/resources`).
 */
export { type ExecutionRequestedResource, toExecutionResource } from './execution-dto.js';
export { formatExecution } from './execution-text.js';
export { isTerminal } from './status.js';
export { toSecretUsageResource, toSecretUseResource, toUnusedSecretResource } from './usage-dto.js';
