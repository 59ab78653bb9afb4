/** Env vars an action always gets from the worker's environment, when set (LC_* too). */
export const BASE_CHILD_ENV = ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR'] as const;

/**
 * Never passed to an action, whatever `worker.passthrough_env` says: the worker's own credentials and settings.
 * `SECRET_*` and `ATTUNE_*` are reserved for what the worker injects.
 */
export const FORBIDDEN_PASSTHROUGH = /^(ATTUNE_|SECRET_|DATABASE_URL$|AMQP_URL$|PG[A-Z]*$)/;
