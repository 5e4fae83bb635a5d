import { createServer } from 'node:net';

const LOOPBACK = '127.0.0.1';

/** An unused loopback TCP port (the OS picks it), for tests that need their own services. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not read the bound port'))));
    });
  });
}

/**
 * Whether binding 127.0.0.1:port fails with EADDRINUSE. Binding (rather than connecting) also
 * catches a listener on 0.0.0.0 or one that has stopped accepting, which a connect probe misses.
 */
export function isPortInUse(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(true);
      else reject(error);
    });
    server.listen(port, LOOPBACK, () => server.close(() => resolve(false)));
  });
}

/** Resolves once the port has no listener left, or false after `timeoutMs`. */
export async function waitForPortFree(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await isPortInUse(port)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
