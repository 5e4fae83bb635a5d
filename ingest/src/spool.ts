import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fromClickHouseTime, type Logger, type StoredEvent } from '@sightline/core';

export interface SpoolOptions {
  dir: string;
  /** The spool refuses appends beyond this many bytes on disk (the 503 point). */
  maxBytes: number;
  /** A segment is sealed for replay once it reaches this size. */
  segmentBytes?: number;
  logger: Logger;
}

interface PendingAppend {
  data: Buffer;
  /** The earliest received_at of its events, epoch ms. */
  received: number;
  resolve: (result: 'spooled' | 'full') => void;
  reject: (error: unknown) => void;
}

const segmentName = /^segment-(\d{12})\.ndjson$/;

/**
 * Where events go when Kafka cannot take them in time: append-only newline-delimited JSON segment
 * files on local disk, bounded in size. An append resolves only after fsync, so an event the
 * ingest acknowledged from here survives a crash of the process or the machine.
 *
 * Appends that arrive together share one write and one fsync (group commit); the disk's flush
 * latency is paid once per group, not per request.
 */
export class Spool {
  #bytes = 0;
  /** received_at (epoch ms) of each segment's first event: the oldest one is how long events have waited. */
  readonly #firstReceived = new Map<number, number>();
  #nextSeq: number;
  #current: { seq: number; handle: FileHandle; bytes: number } | undefined;
  #pending: PendingAppend[] = [];
  #scheduled = false;
  #refused = false;
  /** Writes and seals run one after another on this chain, never over each other. */
  #tail: Promise<void> = Promise.resolve();
  readonly #segmentBytes: number;

  private constructor(
    private readonly options: SpoolOptions,
    bytes: number,
    nextSeq: number,
  ) {
    this.#bytes = bytes;
    this.#nextSeq = nextSeq;
    this.#segmentBytes = options.segmentBytes ?? 4 * 1024 * 1024;
  }

  static async open(options: SpoolOptions): Promise<Spool> {
    await mkdir(options.dir, { recursive: true });
    const segments = await listSegments(options.dir);
    let bytes = 0;
    for (const seq of segments) bytes += (await stat(segmentPath(options.dir, seq))).size;
    const spool = new Spool(options, bytes, (segments.at(-1) ?? 0) + 1);
    for (const seq of segments) {
      const first = await firstReceived(segmentPath(options.dir, seq));
      if (first !== undefined) spool.#firstReceived.set(seq, first);
    }
    if (segments.length)
      options.logger.warn({ segments: segments.length, bytes }, 'spool holds events from before; replaying');
    return spool;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * received_at (epoch ms) of the oldest event waiting here, undefined when the spool is empty. While
   * ingest spools, Kafka's consumer lag stays 0: this is where the delay shows instead.
   */
  get oldestReceivedAt(): number | undefined {
    let oldest: number | undefined;
    for (const at of this.#firstReceived.values()) if (oldest === undefined || at < oldest) oldest = at;
    return oldest;
  }

  /** True once an append did not fit, until a replay frees space. */
  get full(): boolean {
    return this.#refused || this.#bytes >= this.options.maxBytes;
  }

  /** Writes the events durably; 'full' (nothing written) when the spool reached its size limit. */
  append(events: StoredEvent[]): Promise<'spooled' | 'full'> {
    const data = Buffer.from(`${events.map((e) => JSON.stringify(e)).join('\n')}\n`);
    const received = Math.min(...events.map((e) => fromClickHouseTime(e.received_at)));
    return new Promise((resolve, reject) => {
      this.#pending.push({ data, received, resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      void this.#serial(async () => {
        this.#scheduled = false;
        await this.#writePending();
      });
    });
  }

  #serial(task: () => Promise<void>): Promise<void> {
    const run = this.#tail.then(task, task);
    this.#tail = run.catch(() => {});
    return run;
  }

  /** One group commit: everything that arrived since the last write, one write, one fsync. */
  async #writePending(): Promise<void> {
    const group = this.#pending;
    this.#pending = [];
    const accepted: PendingAppend[] = [];
    let size = 0;
    for (const append of group) {
      if (this.#bytes + size + append.data.length > this.options.maxBytes) {
        this.#refused = true;
        append.resolve('full');
      } else {
        accepted.push(append);
        size += append.data.length;
      }
    }
    if (!accepted.length) return;
    try {
      const segment = await this.#writable();
      await segment.handle.write(Buffer.concat(accepted.map((a) => a.data)));
      await segment.handle.sync();
      segment.bytes += size;
      this.#bytes += size;
      const received = Math.min(...accepted.map((a) => a.received));
      const first = this.#firstReceived.get(segment.seq);
      if (Number.isFinite(received) && (first === undefined || received < first))
        this.#firstReceived.set(segment.seq, received);
      for (const a of accepted) a.resolve('spooled');
      if (segment.bytes >= this.#segmentBytes) await this.#seal();
    } catch (error) {
      for (const a of accepted) a.reject(error);
    }
  }

  async #writable(): Promise<{ seq: number; handle: FileHandle; bytes: number }> {
    if (!this.#current) {
      const seq = this.#nextSeq++;
      this.#current = { seq, handle: await open(segmentPath(this.options.dir, seq), 'a'), bytes: 0 };
    }
    return this.#current;
  }

  async #seal(): Promise<void> {
    const current = this.#current;
    this.#current = undefined;
    await current?.handle.close();
  }

  /**
   * Replays the spool oldest first: each segment's events go to `send` in chunks and the segment is
   * deleted only after every chunk was acknowledged. A crash mid-segment re-sends that segment's
   * events after restart; they keep their event_id, so dedup absorbs them. Stops at the first
   * failure and leaves the rest for the next call. Returns the number of events replayed.
   */
  async replay(send: (events: StoredEvent[]) => Promise<void>, chunk = 1000): Promise<number> {
    await this.#serial(() => this.#seal());
    let replayed = 0;
    for (const seq of await listSegments(this.options.dir)) {
      if (seq === this.#current?.seq) break;
      const file = segmentPath(this.options.dir, seq);
      const events = parseSegment(await readFile(file, 'utf8'), this.options.logger, file);
      for (let i = 0; i < events.length; i += chunk) await send(events.slice(i, i + chunk));
      const size = (await stat(file)).size;
      await rm(file);
      this.#firstReceived.delete(seq);
      this.#bytes -= size;
      this.#refused = false;
      replayed += events.length;
    }
    return replayed;
  }

  async close(): Promise<void> {
    await this.#serial(() => this.#seal());
  }
}

function segmentPath(dir: string, seq: number): string {
  return path.join(dir, `segment-${String(seq).padStart(12, '0')}.ndjson`);
}

async function listSegments(dir: string): Promise<number[]> {
  return (await readdir(dir))
    .map((f) => segmentName.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

/** received_at of a segment's first event (its first line), read at start for the segments left from before. */
async function firstReceived(file: string): Promise<number | undefined> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, 0);
    const line = buffer.subarray(0, bytesRead).toString('utf8').split('\n')[0] ?? '';
    const at = fromClickHouseTime((JSON.parse(line) as Partial<StoredEvent>).received_at ?? '');
    return Number.isFinite(at) ? at : undefined;
  } catch {
    return (await stat(file)).mtimeMs;
  } finally {
    await handle.close();
  }
}

/** A torn last line (the process died mid-write, before fsync acknowledged it) is skipped. */
function parseSegment(text: string, logger: Logger, file: string): StoredEvent[] {
  const events: StoredEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      events.push(JSON.parse(line) as StoredEvent);
    } catch {
      logger.warn({ file }, 'skipping a torn spool line that was never acknowledged');
    }
  }
  return events;
}
