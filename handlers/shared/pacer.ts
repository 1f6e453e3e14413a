/**
 * Client-side pacing: keeps one client's requests under a rate budget, so a burst of work waits a
 * few milliseconds per request here instead of being refused with 429 and held back for a whole
 * `Retry-After`. The budget adapts: a 429 halves the rate, a `…-Remaining` header that says the
 * window is nearly spent spreads what is left over the rest of it, and every success gives back a
 * fiftieth of the budget, so the rate recovers within a second or two of calm.
 *
 * The schedule is GCRA (a token bucket without a timer): each request is given a slot one
 * interval after the previous one.
 */

export interface PacerOptions {
  /** Requests a minute this client may make at most. */
  readonly perMinute: number;
  /**
   * A timeline the other clients of the same budget book their requests on too (other containers
   * with the same token): each request waits for its slot there as well as here, so together they
   * keep to `perMinute` exactly, each using all of it while the others are idle.
   * @default none: this client has the budget to itself
   */
  readonly timeline?: SharedTimeline;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Slots on a timeline several clients book from (the directory's `SharedSchedule`). */
export interface SharedTimeline {
  /**
   * Books one request's slot, `intervalMs` long: when it starts (epoch ms), or, when this client
   * may not book that far ahead now, when to ask again.
   */
  book(intervalMs: number, now: number): Promise<Booking>;
}

export type Booking = { readonly start: number } | { readonly notBefore: number };

/** What an API's answer says of its window, read from its own headers. */
export interface RateWindow {
  /** Requests left in the window. */
  readonly remaining: number;
  /** Milliseconds until the window resets, when the API says. */
  readonly resetMs?: number;
}

export class Pacer {
  readonly #max: number;
  readonly #min: number;
  readonly #timeline?: SharedTimeline;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  /** Requests per millisecond allowed now. */
  #rate: number;
  /** The theoretical arrival time of the next request (GCRA). */
  #next = 0;

  public constructor(options: PacerOptions) {
    if (!(options.perMinute > 0)) throw new RangeError("perMinute must be positive");
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    // 2% under the budget: room for clock and network jitter against the API's rolling window.
    this.#max = this.#rate = (options.perMinute * 0.98) / 60_000;
    this.#min = this.#max / 16;
    this.#timeline = options.timeline;
  }

  /** Requests a minute allowed now (for logs and tests). */
  public get perMinute(): number {
    return this.#rate * 60_000;
  }

  /**
   * Waits for this request's slot: on the shared timeline when there is one, else here. False,
   * having waited for nothing, when the slot would start more than `withinMs` from now: past the
   * caller's deadline.
   */
  public async take(withinMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    const notAfter = this.#now() + withinMs;
    let start: number;
    if (this.#timeline) {
      const booked = await this.#book(notAfter);
      if (booked === undefined) return false;
      // Slowed here (a 429, the API's own count): spaced at the lower rate as well. Unhindered, the
      // shared slot alone: the later of two schedules' slots is no schedule, and two containers
      // would go at once.
      start = this.#rate < this.#max ? Math.max(booked, this.#next) : booked;
      if (start > notAfter) return false;
      this.#next = start + 1 / this.#rate;
    } else {
      // Evenly spaced: against a rolling window, any burst at the full rate can overrun it.
      start = Math.max(this.#next, this.#now());
      if (start > notAfter) return false;
      this.#next = start + 1 / this.#rate;
    }
    const wait = start - this.#now();
    if (wait > 0) await this.#sleep(wait);
    return true;
  }

  /**
   * The request's slot on the shared timeline, booked at the budget (not at a rate a 429 lowered
   * here: the others keep their spacing); undefined when it would start after `notAfter`.
   */
  async #book(notAfter: number): Promise<number | undefined> {
    for (;;) {
      const booking = await (this.#timeline as SharedTimeline).book(1 / this.#max, this.#now());
      if ("start" in booking) return booking.start;
      if (booking.notBefore > notAfter) return undefined;
      await this.#sleep(booking.notBefore - this.#now());
    }
  }

  /** The API refused a request for its rate: half the rate; the `Retry-After` itself is the caller's. */
  public throttled(): void {
    this.#rate = Math.max(this.#min, this.#rate / 2);
  }

  /** The API answered: recover a little, but never past what its window has left. */
  public answered(window?: RateWindow): void {
    this.#rate = Math.min(this.#max, this.#rate + this.#max / 50);
    if (window && window.resetMs !== undefined && window.resetMs > 0) {
      // Keep a tenth of what is left for the other clients sharing the window.
      // At least one request before the reset, which then brings a new window.
      const affordable = Math.max(window.remaining * 0.9, 1) / window.resetMs;
      this.#rate = Math.min(this.#rate, affordable);
    } else if (window && window.remaining <= 0) {
      this.throttled();
    }
  }
}
