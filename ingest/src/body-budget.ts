import type { IncomingHttpHeaders } from 'node:http';
import type { preParsingHookHandler } from 'fastify';

/**
 * A limit on the bytes of request bodies that ingest holds at once, from reading a body to answering
 * its request; a request beyond it waits, first come first served, before its body is read, so the
 * body stays in the socket (TCP pushes back on the client) instead of in the heap.
 *
 * Why: under more load than Kafka's producers take, every accepted request used to wait in the
 * producers' queue as parsed and enriched events, and each of V8's young-generation collections
 * copied them all again (about 12 ms a collection, every 80 ms). A request larger than the whole
 * limit is let in when nothing else is held.
 */
export class BodyBudget {
  #held = 0;
  readonly #queue: { bytes: number; enter: () => void }[] = [];

  constructor(readonly limitBytes: number) {}

  get heldBytes(): number {
    return this.#held;
  }

  /** Undefined when `bytes` are let in at once; otherwise resolves when they are. */
  enter(bytes: number): Promise<void> | undefined {
    if (this.#queue.length === 0 && this.#fits(bytes)) {
      this.#held += bytes;
      return undefined;
    }
    return new Promise((enter) => this.#queue.push({ bytes, enter }));
  }

  /** Gives back what `enter` took, and lets in whoever waits and now fits. */
  leave(bytes: number): void {
    this.#held -= bytes;
    while (this.#queue.length && this.#fits(this.#queue[0]!.bytes)) {
      const next = this.#queue.shift()!;
      this.#held += next.bytes;
      next.enter();
    }
  }

  #fits(bytes: number): boolean {
    return this.#held === 0 || this.#held + bytes <= this.limitBytes;
  }
}

/**
 * A preParsing hook: the request's body is read once its bytes fit in `budget`, and given back when
 * the answer is sent or the client goes away.
 */
export function holdBodyWithin(budget: BodyBudget): preParsingHookHandler {
  return (request, reply, payload, done) => {
    const bytes = bodyBytes(request.headers);
    if (bytes === 0) return done(null, payload);
    let entered = false;
    let closed = false;
    // 'close' comes once, whether the answer was sent or the connection was lost.
    reply.raw.once('close', () => {
      closed = true;
      if (entered) budget.leave(bytes);
    });
    const wait = budget.enter(bytes);
    if (!wait) {
      entered = true;
      return done(null, payload);
    }
    void wait.then(() => {
      entered = true;
      if (closed) budget.leave(bytes);
      done(null, payload);
    });
  };
}

/** A body's size before it is read: its Content-Length, or the largest body a route takes when chunked. */
function bodyBytes(headers: IncomingHttpHeaders): number {
  if (headers['content-length'] !== undefined) return Number(headers['content-length']) || 0;
  return headers['transfer-encoding'] ? 1024 * 1024 : 0;
}
