import type { Logger } from '@sightline/core';
import { type ReplayDeps, type ReplayProgress, type ReplayResult, replayTopic } from './replay.js';

export interface ReplayState {
  state: 'idle' | 'running' | 'done' | 'failed';
  from?: string;
  to?: string | null;
  progress?: ReplayProgress;
  result?: ReplayResult;
  error?: string;
}

/**
 * Runs one replay at a time inside the service (in the embedded mode only the service may open
 * ClickHouse), and keeps its progress for the admin API and the `npm run replay` command.
 */
export class ReplayRunner {
  #state: ReplayState = { state: 'idle' };

  constructor(
    private readonly deps: ReplayDeps & { logger: Logger },
    private readonly topic: string,
  ) {}

  get state(): ReplayState {
    return this.#state;
  }

  /** False when a replay is already running. */
  start(from: Date, to: Date | undefined): boolean {
    if (this.#state.state === 'running') return false;
    this.#state = { state: 'running', from: from.toISOString(), to: to?.toISOString() ?? null };
    const state = this.#state;
    replayTopic(this.deps, {
      topic: this.topic,
      from: { timestamp: from.getTime() },
      ...(to ? { to: to.getTime() } : {}),
      onProgress: (progress) => {
        state.progress = progress;
      },
    }).then(
      (result) => {
        state.state = 'done';
        state.result = result;
        this.deps.logger.info(result, 'replay finished');
      },
      (error: unknown) => {
        state.state = 'failed';
        state.error = error instanceof Error ? error.message : String(error);
        this.deps.logger.error({ err: error }, 'replay failed');
      },
    );
    return true;
  }
}
