/**
 * A virtual clock for tests of containers sharing the Tallyfy schedule: time moves only when every
 * simulated request loop sleeps, so a schedule of minutes runs in seconds and every start time is
 * exact, not measured. The loops' DynamoDB calls (dynalite on loopback) are real I/O; the driver
 * waits for them before moving on.
 */
import { JOINS_HORIZON_MS, TALLYFY_SCHEDULE } from "../../handlers/contracts/lanes.js";
import { directoryFrom } from "../../handlers/runtime/function-environment.js";
import { Pacer } from "../../handlers/shared/pacer.js";
import type { LocalDynamo } from "../../local/dynamodb.js";

export class VirtualTime {
  #t: number;
  #seq = 0;
  readonly #timers: { at: number; seq: number; resolve: () => void }[] = [];

  public constructor(start: number) {
    this.#t = start;
  }

  public readonly now = (): number => this.#t;

  public readonly sleep = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      this.#timers.push({ at: this.#t + Math.max(0, ms), seq: this.#seq++, resolve });
    });

  public get sleeping(): number {
    return this.#timers.length;
  }

  /** Wakes the earliest sleeper (ties in the order they fell asleep). */
  public wakeNext(): void {
    this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const next = this.#timers.shift();
    if (!next) return;
    this.#t = Math.max(this.#t, next.at);
    next.resolve();
  }
}

/** Runs the loops to their end, moving the clock only while every live loop sleeps. */
export async function runLoops(time: VirtualTime, loops: readonly (() => Promise<void>)[]): Promise<void> {
  let alive = loops.length;
  const errors: unknown[] = [];
  const done = loops.map((loop) =>
    loop()
      .catch((error: unknown) => {
        errors.push(error);
      })
      .finally(() => {
        alive--;
      }),
  );
  while (alive > 0) {
    await new Promise((resolve) => setImmediate(resolve));
    if (alive > 0 && time.sleeping === alive) time.wakeNext();
  }
  await Promise.all(done);
  if (errors.length > 0) throw errors[0];
}

/** One request start, on the real (virtual) timeline. */
export interface Start {
  readonly at: number;
  readonly container: string;
  readonly lane: "reconcile" | "departures";
}

/** A container as deployed: its own Pacer at the lanes' budget, booking on the directory's schedule. */
export function container(
  dynamo: LocalDynamo,
  time: VirtualTime,
  perMinute: number,
  options: {
    /** The apply functions' lane books no further than its horizon; the departures lane's, anywhere. @default "reconcile" */
    readonly lane?: "reconcile" | "departures";
    /** How far this container's clock is off. @default 0 */
    readonly skewMs?: number;
  } = {},
): Pacer {
  const lane = options.lane ?? "reconcile";
  const schedule = directoryFrom(dynamo.tableName, dynamo.client).schedule(TALLYFY_SCHEDULE, {
    horizonMs: lane === "reconcile" ? JOINS_HORIZON_MS : undefined,
  });
  const skew = options.skewMs ?? 0;
  return new Pacer({ perMinute, timeline: schedule, now: () => time.now() + skew, sleep: time.sleep });
}

/** The most starts in any window of `windowMs` (Tallyfy's rolling minute). */
export function busiestWindow(starts: readonly Start[], windowMs = 60_000): number {
  const at = starts.map((s) => s.at).sort((a, b) => a - b);
  let most = 0;
  let first = 0;
  for (let last = 0; last < at.length; last++) {
    while ((at[last] ?? 0) - (at[first] ?? 0) >= windowMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}
