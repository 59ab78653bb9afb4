import type { ExecutionWarning } from '@attune/executions';
import { prepareSecretEnv, type ResolvedSecret } from '@attune/secrets';
import { spawnProblem } from '../../spawner.js';
import type { DeliveredSecrets, SecretDelivery } from './delivery.js';

/**
 * The seed's delivery: each secret as `SECRET_<NAME>` in the action's environment (strings as they are, structured
 * values as compact JSON). A value no environment variable can carry (a NUL, malformed text) is not delivered: a
 * warning names it, rather than the spawn failing.
 */
export class EnvDelivery implements SecretDelivery {
  readonly mode = 'env';

  deliver(secrets: readonly ResolvedSecret[]): DeliveredSecrets {
    const env = prepareSecretEnv(secrets);
    const warnings: ExecutionWarning[] = [];
    const delivered = secrets.filter((s) => {
      const value = env[s.envName] as string;
      if (!spawnProblem({ argv: ['-'], cwd: '/', stdin: '', env: { [s.envName]: value } })) return true;
      delete env[s.envName];
      warnings.push({
        kind: 'secret_skipped',
        ref: s.ref,
        message: `Secret ${s.ref} (${s.envName}) holds a NUL character or malformed text, which no environment variable can carry; it was not injected.`,
      });
      return false;
    });
    return { env, delivered, warnings };
  }
}
