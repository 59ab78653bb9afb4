import { createServer, type Server } from 'node:http';

/** What `/readyz` answers (docs/deployment.md#health-checks). */
export interface Readiness {
  readonly ready: boolean;
  readonly database: string;
  readonly broker: string;
  readonly draining: boolean;
  readonly inFlight: number;
  readonly isolation: { readonly mode: string; readonly runAs: string; readonly uid: number };
  readonly spawner: { readonly ok: boolean; readonly restarts: number; readonly problem?: string };
}

/**
 * The worker's health endpoints: `GET /healthz` (200 while the process is up) and `GET /readyz` (200 when ready,
 * else 503, with the {@link Readiness} body). They reveal no secret.
 */
export async function startHealthServer(options: {
  host: string;
  port: number;
  workerId: string;
  readiness: () => Promise<Readiness>;
}): Promise<Server> {
  const server = createServer((req, res) => {
    const send = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return send(405, { error: 'method not allowed' });
    if (req.url === '/healthz') return send(200, { status: 'ok', workerId: options.workerId });
    if (req.url === '/readyz') {
      void options.readiness().then((r) => send(r.ready ? 200 : 503, r));
      return;
    }
    send(404, { error: 'not found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return server;
}
