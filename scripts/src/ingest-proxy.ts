import { Agent, createServer, type IncomingMessage, request, type Server } from 'node:http';

/**
 * A small round-robin HTTP proxy in front of ingest instances, for a rolling restart on one machine
 * (a load balancer does this in a cluster). It polls each instance's /ready and sends requests only
 * to ready ones; a request that an instance refuses at the socket, or answers 503 (draining, or its
 * spool full), is tried once on each other ready instance, as nginx's `proxy_next_upstream error
 * http_503` does. Retrying is safe for ingest: events keep their event_id, and duplicates never
 * reach the authoritative numbers.
 */
export interface IngestProxy {
  url: string;
  /** Requests answered by a second (or later) instance after the first refused or answered 503. */
  readonly retried: number;
  close(): Promise<void>;
}

export interface IngestProxyOptions {
  upstreams: string[];
  port?: number;
  /** How often each instance's /ready is polled. */
  readyIntervalMs?: number;
}

interface Upstream {
  url: URL;
  ready: boolean;
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

function forward(agent: Agent, upstream: Upstream, incoming: IncomingMessage, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      upstream.url,
      {
        agent,
        method: incoming.method,
        path: incoming.url,
        headers: { ...incoming.headers, host: upstream.url.host },
        timeout: 30_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 502,
            headers: response.headers,
            body: Buffer.concat(chunks),
          }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error('upstream timed out')));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

async function readBody(incoming: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startIngestProxy(options: IngestProxyOptions): Promise<IngestProxy> {
  const upstreams: Upstream[] = options.upstreams.map((u) => ({ url: new URL(u), ready: false }));
  const agent = new Agent({ keepAlive: true });
  let next = 0;
  let retried = 0;
  const poll = async () => {
    await Promise.all(
      upstreams.map(async (upstream) => {
        const response = await fetch(new URL('/ready', upstream.url), {
          signal: AbortSignal.timeout(2000),
        }).catch(() => undefined);
        upstream.ready = response?.status === 200;
        await response?.body?.cancel();
      }),
    );
  };
  await poll();
  const timer = setInterval(() => void poll(), options.readyIntervalMs ?? 250);

  const server: Server = createServer(async (incoming, reply) => {
    const body = await readBody(incoming);
    // The ready instances in round-robin order from the next one; all of them if none is ready.
    const start = next++;
    const ordered = upstreams.map((_, i) => upstreams[(start + i) % upstreams.length]!);
    const candidates = ordered.some((u) => u.ready) ? ordered.filter((u) => u.ready) : ordered;
    let answer: Answer | undefined;
    for (const [attempt, upstream] of candidates.entries()) {
      try {
        answer = await forward(agent, upstream, incoming, body);
      } catch {
        // Refused or reset at the socket: the instance is stopping; skip it until /ready says so.
        upstream.ready = false;
        continue;
      }
      if (answer.status !== 503) {
        if (attempt > 0) retried++;
        break;
      }
    }
    if (!answer) {
      reply.writeHead(502, { 'content-type': 'application/json' });
      reply.end(JSON.stringify({ error: { code: 'no_upstream', message: 'no ingest instance answered' } }));
      return;
    }
    const { connection: _, 'keep-alive': __, 'transfer-encoding': ___, ...headers } = answer.headers;
    reply.writeHead(answer.status, headers);
    reply.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    get retried() {
      return retried;
    },
    async close() {
      clearInterval(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      agent.destroy();
    },
  };
}
