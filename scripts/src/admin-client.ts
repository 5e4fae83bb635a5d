import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, loadConfig } from '@sightline/core';

interface Answer {
  status: number;
  body: { error?: { message?: string } } & Record<string, unknown>;
}

/**
 * The admin API of the running service, for commands that must go through it (in the embedded
 * mode only the service may open ClickHouse). URL and token come from the flags, else from the
 * service's own configuration: PORT, ADMIN_TOKEN or DATA_DIR/admin-token.
 */
export async function adminClient(flags: { url?: string | undefined; token?: string | undefined }) {
  const config = loadConfig(process.env);
  const url = flags.url ?? `http://127.0.0.1:${config.PORT}`;
  const token =
    flags.token ??
    config.ADMIN_TOKEN ??
    (await readFile(path.join(config.DATA_DIR, 'admin-token'), 'utf8').then(
      (t) => t.trim(),
      () => '',
    ));
  const call = async (method: string, route: string, body?: unknown): Promise<Answer> => {
    const response = await fetch(`${url}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    }).catch((error: unknown) => {
      throw new ConfigError(
        `cannot reach the service at ${url} (${String(error)}): is it running (npm start)?`,
      );
    });
    return { status: response.status, body: (await response.json().catch(() => ({}))) as Answer['body'] };
  };
  return {
    get: (route: string) => call('GET', route),
    post: (route: string, body: unknown) => call('POST', route, body),
  };
}

/** Runs a command's main and exits with its code; a ConfigError is one line and exit code 2. */
export function runCommand(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`sightline ${name}: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(error instanceof ConfigError ? 2 : 1);
    },
  );
}
