/**
 * The Tallyfy schedule both reconcile lanes share, tried as an attacker would (issue 24): at the
 * spacing the pacer really books (a fraction of a millisecond), at the smallest budget, with 200
 * apply containers, with a clock that ran ahead, and against an invocation's deadline. It keeps
 * every rolling minute within the budget, refuses no request a slot, lets a departure wait for at
 * most the joins' horizon, and never starts a request past the deadline.
 *
 * On dynalite (loopback) and a virtual clock: the assertions are on slots and counts, never on
 * elapsed real time.
 */
import { afterEach, describe, expect, it } from "vitest";
import { JOINS_HORIZON_MS, TALLYFY_SCHEDULE } from "../../handlers/contracts/lanes.js";
import { directoryFrom } from "../../handlers/runtime/function-environment.js";
import { type Booking, Pacer } from "../../handlers/shared/pacer.js";
import { TallyfyClient } from "../../handlers/tallyfy/client.js";
import { StaticTokenSource } from "../../handlers/tallyfy/credentials.js";
import { budgetShare, fullSyncFraction } from "../../lib/rate-budget.js";
import { type LocalDynamo, startLocalDynamo } from "../../local/dynamodb.js";
import { DEFAULT_TEST_CONFIG, event, startPipeline, type TestPipeline } from "../../local/pipeline.js";
import { busiestWindow, container, runLoops, type Start, VirtualTime } from "../support/virtual-time.js";

let dynamo: LocalDynamo | undefined;
let pipeline: TestPipeline | undefined;
afterEach(async () => {
  await pipeline?.stop();
  await dynamo?.stop();
  dynamo = pipeline = undefined;
});

/** What lib/pipeline.ts gives both lanes: the budget less the full sync's default tenth. */
const lanesBudget = (tallyfyRequestsPerMinute: number) =>
  budgetShare(tallyfyRequestsPerMinute, 1 - fullSyncFraction(undefined));

/** The spacing the pacer books at (2% under the budget). */
const intervalOf = (perMinute: number) => 60_000 / (perMinute * 0.98);

function startOf(booking: Booking): number | string {
  return "start" in booking ? booking.start : `wait until ${booking.notBefore}`;
}

/**
 * A backlog of joins worked by `applyContainers` apply containers (3 entities at once each, one
 * 200 ms Tallyfy call after another) and, from `departureAt`, a departure's two calls.
 */
async function backlog(options: {
  readonly apply: number;
  readonly perMinute: number;
  readonly forMs: number;
  readonly departureAt: number;
}) {
  const db = dynamo as LocalDynamo;
  const time = new VirtualTime(1_000_000);
  const end = time.now() + options.forMs;
  const starts: Start[] = [];
  const refused: string[] = [];
  const loops: (() => Promise<void>)[] = [];
  let offset = 0;
  for (let c = 0; c < options.apply; c++) {
    const pacer = container(db, time, options.perMinute);
    for (let e = 0; e < 3; e++) {
      const startAfter = offset++;
      loops.push(async () => {
        await time.sleep(startAfter);
        while (time.now() < end) {
          const booked = await pacer.take().catch((error: Error) => {
            refused.push(error.name);
            return false;
          });
          if (!booked) return;
          starts.push({ at: time.now(), container: `apply-${c}`, lane: "reconcile" });
          await time.sleep(200);
        }
      });
    }
  }
  const departures = container(db, time, options.perMinute, { lane: "departures" });
  const departure = { arrived: time.now() + options.departureAt, disabled: undefined as number | undefined };
  loops.push(async () => {
    await time.sleep(options.departureAt);
    for (let call = 0; call < 2; call++) {
      await departures.take();
      starts.push({ at: time.now(), container: "departures", lane: "departures" });
      await time.sleep(200);
    }
    departure.disabled = time.now() - 200;
  });
  await runLoops(time, loops);
  return { starts, refused, departure };
}

describe("the shared schedule at the spacing the pacer books", () => {
  it("gives an honest container the present after a clock a day ahead booked the timeline", async () => {
    // Prepare: the default budget's spacing (113.378... ms)
    dynamo = await startLocalDynamo();
    const schedule = directoryFrom(dynamo.tableName, dynamo.client).schedule(TALLYFY_SCHEDULE);
    const interval = intervalOf(lanesBudget(600));
    await schedule.book(interval, 5_000 + 86_400_000);

    // Act
    const honest = await schedule.book(interval, 5_000);
    const next = await schedule.book(interval, 5_000);

    // Assess
    expect(startOf(honest)).toBe(5_000);
    expect(startOf(next)).toBeCloseTo(5_000 + interval, 2);
  });

  it("gives each request the departures lane has in flight its own slot at the smallest budget", async () => {
    // Prepare: tallyfyRequestsPerMinute 10, the least the stack accepts (the lanes 9 a minute)
    dynamo = await startLocalDynamo();
    const schedule = directoryFrom(dynamo.tableName, dynamo.client).schedule(TALLYFY_SCHEDULE);
    const interval = intervalOf(lanesBudget(10));

    // Act: ten requests book one after another at one moment
    const starts: (number | string)[] = [];
    for (let i = 0; i < 10; i++) starts.push(startOf(await schedule.book(interval, 1_000_000)));

    // Assess
    expect(starts.every((s) => typeof s === "number")).toBe(true);
    expect(new Set(starts).size).toBe(10);
  });
});

describe("both lanes' containers on the shared schedule", () => {
  it("keep every rolling minute within the budget and refuse no request a slot, with 60 apply containers", async () => {
    // Prepare: the default budget, applyMaxConcurrency 60 (180 requests wanting a slot at once,
    // twenty times what the budget needs to stay busy)
    dynamo = await startLocalDynamo();
    const perMinute = lanesBudget(600);

    // Act
    const { starts, refused } = await backlog({ apply: 60, perMinute, forMs: 65_000, departureAt: 30_000 });

    // Assess
    expect(refused).toEqual([]);
    expect(starts.length).toBeGreaterThan(perMinute);
    expect(busiestWindow(starts)).toBeLessThanOrEqual(perMinute);
  }, 180_000);

  it("let a departure wait for at most the joins' horizon of requests, with 60 apply containers", async () => {
    // Prepare
    dynamo = await startLocalDynamo();
    const perMinute = lanesBudget(600);

    // Act
    const { starts, departure } = await backlog({
      apply: 100,
      perMinute,
      forMs: 60_000,
      departureAt: 20_000,
    });

    // Assess: the join requests Tallyfy got between the departure's arrival and its disable
    const joinsAhead = starts.filter(
      (s) => s.lane === "reconcile" && s.at >= departure.arrived && s.at < (departure.disabled ?? 0),
    ).length;
    const horizonOfJoins = Math.ceil(JOINS_HORIZON_MS / intervalOf(perMinute));
    expect(departure.disabled).toBeDefined();
    // Its two calls: each behind at most a horizon of joins and the slot of its own first call.
    expect(joinsAhead).toBeLessThanOrEqual(2 * (horizonOfJoins + 1));
  }, 180_000);

  it("do not hold a departure back by the skew of an apply container whose clock runs 30 s ahead", async () => {
    // Prepare: the skewed container makes one request while the timeline is idle
    dynamo = await startLocalDynamo();
    const perMinute = lanesBudget(600);
    const time = new VirtualTime(1_000_000);
    const skewed = container(dynamo, time, perMinute, { skewMs: 30_000 });
    const departures = container(dynamo, time, perMinute, { lane: "departures" });
    const starts: number[] = [];

    // Act: a departure's three calls right after it
    await runLoops(time, [
      async () => {
        await skewed.take();
      },
      async () => {
        await time.sleep(1);
        for (let i = 0; i < 3; i++) {
          await departures.take();
          starts.push(time.now());
        }
      },
    ]);

    // Assess: within a few slots of the idle timeline, not 30 s later
    expect(starts).toHaveLength(3);
    expect(Math.max(...starts) - 1_000_000).toBeLessThan(10 * intervalOf(perMinute));
  });
});

describe("a request waiting for its slot", () => {
  it("is never started past the invocation's deadline: it fails as a deadline, in time to be retried", async () => {
    // Prepare: the lanes at 54 a minute; the departures lane's timeline booked about 15 s ahead
    dynamo = await startLocalDynamo();
    const perMinute = lanesBudget(60);
    let now = 1_000_000;
    const clock = {
      now: () => now,
      sleep: async (ms: number) => {
        now += Math.max(0, ms);
      },
    };
    const schedule = directoryFrom(dynamo.tableName, dynamo.client).schedule(TALLYFY_SCHEDULE);
    for (let i = 0; i < 13; i++) await schedule.book(intervalOf(perMinute), now);
    const sentAt: number[] = [];
    const client = new TallyfyClient({
      organizationId: "org",
      baseUrl: "http://127.0.0.1:9/api",
      tokens: new StaticTokenSource("test-token"),
      pacer: new Pacer({ perMinute, timeline: schedule, now: clock.now, sleep: clock.sleep }),
      now: clock.now,
      sleep: clock.sleep,
      fetch: async () => {
        sentAt.push(now);
        return new Response(null, { status: 204 });
      },
    });
    // The invocation has 5 s left.
    const deadline = now + 5_000;

    // Act: the departure's disable
    const outcome = await client.members.disable(1001, { deadline }).then(
      () => "sent",
      (error: Error) => error.name,
    );

    // Assess
    expect(outcome).toBe("TallyfyDeadlineError");
    expect(sentAt).toEqual([]);
  });
});

describe("the pipeline after a booking from a clock that ran a day ahead", () => {
  it("still disables a leaver, with nothing dead-lettered", async () => {
    // Prepare: both lanes on the shared schedule, as deployed; a leaver in Tallyfy
    pipeline = await startPipeline({ config: DEFAULT_TEST_CONFIG, tallyfyRequestsPerMinute: 6_000 });
    await pipeline.send(
      event("user.created", { user: { email: "leaver@example.com", firstName: "L", lastName: "V" } }),
    );
    await pipeline.drain();
    await pipeline.directory.schedule(TALLYFY_SCHEDULE).book(intervalOf(6_000), Date.now() + 86_400_000);

    // Act
    await pipeline.send(event("user.deactivated", { user: { email: "leaver@example.com" } }));
    await pipeline.drain();

    // Assess
    expect((await pipeline.deadLetters("reconcile")).map((l) => l.attributes?.errorType)).toEqual([]);
    expect(pipeline.tallyfy.memberByEmail("leaver@example.com")?.status).toBe("disabled");
  });
});
