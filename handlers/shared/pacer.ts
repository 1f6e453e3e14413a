/**
 * Client-side pacing: keeps one client's requests under a rate budget, so a burst of work waits a
 * few milliseconds per request here instead of being refused with 429 and held back for a whole
 * `Retry-After`. The budget adapts: a 429 halves the rate, a `…-Remaining` header that says the
 * window is nearly spent spreads what is left over the rest of it, and every success gives back a
 * fiftieth of the budget, so the rate recovers within a second or two of calm.
 *
 * The schedule is GCRA (a token bucket without a timer): each request is given a slot one
 * interval after the previous one, and up to `burst` slots may be taken at once after a quiet spell.
 */

export interface PacerOptions {
  /** Requests a minute this client may make at most. */
  readonly perMinute: number;
  /**
   * Requests that may start at once after a quiet spell. Against a rolling window, any burst at the
   * full rate can overrun it, so the default keeps requests evenly spaced.
   * @default 1
   */
  readonly burst?: number;
  /**
   * Asked at most every `budgetEveryMs` for the budget now, in requests a minute: a share that depends on
   * whether another client of the same budget has work (the two reconcile lanes). Between
   * answers, and when it fails, the last budget stands.
   * @default `perMinute`, always
   */
  readonly budget?: () => Promise<number>;
  /** How often `budget` is asked at most, milliseconds. @default 1000 */
  readonly budgetEveryMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What an API's answer says of its window, read from its own headers. */
export interface RateWindow {
  /** Requests left in the window. */
  readonly remaining: number;
  /** Milliseconds until the window resets, when the API says. */
  readonly resetMs?: number;
}

export class Pacer {
  #max: number;
  #min: number;
  readonly #budget?: () => Promise<number>;
  readonly #budgetEveryMs: number;
  #budgetAt = Number.NEGATIVE_INFINITY;
  readonly #burst: number;
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
    this.#max = this.#min = this.#rate = 0;
    this.#setBudget(options.perMinute);
    this.#rate = this.#max;
    this.#next = 0;
    this.#budget = options.budget;
    this.#budgetEveryMs = options.budgetEveryMs ?? 1_000;
    this.#burst = Math.max(1, options.burst ?? 1);
  }

  /** Requests a minute allowed now (for logs and tests). */
  public get perMinute(): number {
    return this.#rate * 60_000;
  }

  /** Waits for this request's slot. */
  public async take(): Promise<void> {
    if (this.#budget && this.#now() - this.#budgetAt >= this.#budgetEveryMs) {
      this.#budgetAt = this.#now();
      const perMinute = await this.#budget().catch(() => undefined);
      if (perMinute !== undefined && perMinute > 0) this.#setBudget(perMinute);
    }
    const now = this.#now();
    const interval = 1 / this.#rate;
    const slot = Math.max(this.#next, now);
    this.#next = slot + interval;
    const wait = slot - (this.#burst - 1) * interval - now;
    if (wait > 0) await this.#sleep(wait);
  }

  /**
   * A new budget: the rate moves to it at once, unless a 429 or the API's headers hold it lower,
   * when it climbs back as answers come.
   */
  #setBudget(perMinute: number): void {
    const unhindered = this.#rate >= this.#max;
    // 2% under the budget: room for clock and network jitter against the API's rolling window.
    this.#max = (perMinute * 0.98) / 60_000;
    this.#min = this.#max / 16;
    this.#rate = unhindered ? this.#max : Math.min(this.#rate, this.#max);
    // Slots already handed out at the old rate stand; the next one is one new interval away.
    this.#next = Math.min(this.#next, this.#now() + 1 / this.#rate);
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
