/**
 * The soak's ledger: request n carries the events numbered n·size … n·size + size − 1, and the
 * number is the last 12 hex digits of each event_id. So the ledger keeps one request number per
 * acknowledged request (not millions of ids), and one query counts the stored events per request.
 */
export class Ledger {
  readonly acked: number[] = [];
  #next = 0;

  constructor(
    readonly size: number,
    private readonly run: string,
  ) {}

  /** The next request's number and its event ids (valid version-4 UUIDs). */
  take(): { request: number; ids: string[] } {
    const request = this.#next++;
    const ids = Array.from({ length: this.size }, (_, i) => {
      const seq = (request * this.size + i).toString(16).padStart(12, '0');
      return `${this.run}-0000-4000-8000-${seq}`;
    });
    return { request, ids };
  }

  get ackedEvents(): number {
    return this.acked.length * this.size;
  }

  /** One row: the request numbers stored in events (the analyst view) and their distinct events. */
  storedQuery(): string {
    const seq = 'reinterpretAsUInt64(reverse(unhex(substring(toString(event_id), 25, 12))))';
    return `SELECT groupArray(request) AS requests, groupArray(n) AS events FROM (SELECT intDiv(${seq}, ${this.size}) AS request, uniqExact(event_id) AS n FROM events GROUP BY request)`;
  }

  /** Acknowledged events found, given storedQuery's row. */
  found(stored: { requests: number[]; events: number[] }): number {
    const perRequest = new Map(stored.requests.map((r, i) => [Number(r), Number(stored.events[i])]));
    return this.acked.reduce((sum, r) => sum + (perRequest.get(r) ?? 0), 0);
  }
}
