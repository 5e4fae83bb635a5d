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

  /**
   * @param readWithinMs How long a let-in body may take to arrive before its bytes are given back:
   * a client sending its body slowly (or not at all) must not hold every other request back.
   */
  constructor(
    readonly limitBytes: number,
    readonly readWithinMs = 1000,
  ) {}

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
 * the answer is sent, the client goes away, or the body is still arriving `budget.readWithinMs`
 * after it was let in (the request then goes on outside the budget).
 */
export function holdBodyWithin(budget: BodyBudget): preParsingHookHandler {
  return (request, reply, payload, done) => {
    const bytes = bodyBytes(request.headers, request.routeOptions.bodyLimit);
    if (bytes === 0) return done(null, payload);
    let held = false;
    let closed = false;
    let slow: NodeJS.Timeout | undefined;
    const giveBack = () => {
      clearTimeout(slow);
      if (held) budget.leave(bytes);
      held = false;
    };
    // 'close' comes once, whether the answer was sent or the connection was lost.
    reply.raw.once('close', () => {
      closed = true;
      giveBack();
    });
    const read = () => {
      held = true;
      if (closed) giveBack();
      else {
        slow = setTimeout(giveBack, budget.readWithinMs).unref();
        payload.once('end', () => clearTimeout(slow));
      }
      done(null, payload);
    };
    const wait = budget.enter(bytes);
    if (wait) void wait.then(read);
    else read();
  };
}

/** A body's size before it is read: its Content-Length, or the largest body the route takes when chunked. */
function bodyBytes(headers: IncomingHttpHeaders, bodyLimit: number): number {
  if (headers['content-length'] !== undefined) return Number(headers['content-length']) || 0;
  return headers['transfer-encoding'] ? bodyLimit : 0;
}
