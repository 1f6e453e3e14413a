/**
 * One Tallyfy budget for every container of both reconcile lanes: each request books its slot on
 * one schedule in the directory (dynalite on loopback), so containers together keep to the token's
 * limit, and one alone may use all of it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { directoryFrom } from "../handlers/runtime/function-environment.js";
import { type Booking, Pacer } from "../handlers/shared/pacer.js";
import { TallyfyClient } from "../handlers/tallyfy/client.js";
import { StaticTokenSource } from "../handlers/tallyfy/credentials.js";
import { type LocalDynamo, startLocalDynamo } from "../local/dynamodb.js";
import { FakeTallyfy } from "../local/fakes/fake-tallyfy.js";

let dynamo: LocalDynamo | undefined;
let fake: FakeTallyfy | undefined;
afterEach(async () => {
  await fake?.stop();
  await dynamo?.stop();
  fake = dynamo = undefined;
});

/** When a booking starts; a booker without a horizon is never asked to wait. */
function startOf(booking: Booking): number {
  if (!("start" in booking)) throw new Error(`asked to wait until ${booking.notBefore}`);
  return booking.start;
}

describe("the shared schedule", () => {
  it("gives bookers at one moment consecutive slots, and the present once the timeline falls behind", async () => {
    // Prepare
    dynamo = await startLocalDynamo();
    const schedule = directoryFrom(dynamo.tableName, dynamo.client).schedule("tallyfy");

    // Act
    const first = await schedule.book(100, 5_000);
    const second = await schedule.book(100, 5_000);
    const third = await schedule.book(100, 5_050);
    const afterIdle = await schedule.book(100, 9_000);

    // Assess
    expect([first, second, third, afterIdle].map(startOf)).toEqual([5_000, 5_100, 5_200, 9_000]);
  });

  it("never gives two containers booking at once the same slot, at the fractional spacing the pacer books", async () => {
    // Prepare: four containers, each with its own client to the table; the default budget's spacing
    dynamo = await startLocalDynamo();
    const containers = Array.from({ length: 4 }, () =>
      directoryFrom(dynamo?.tableName ?? "", dynamo?.client).schedule("tallyfy"),
    );
    const interval = 60_000 / (540 * 0.98);

    // Act: 40 bookings at the same moment, all in flight together
    const bookings = await Promise.all(
      Array.from({ length: 40 }, (_, i) => containers[i % 4]?.book(interval, 1_000) ?? Promise.reject()),
    );

    // Assess: forty distinct slots, one interval apart (to the microsecond the schedule keeps)
    const starts = bookings.map(startOf).sort((a, b) => a - b);
    expect(new Set(starts).size).toBe(40);
    expect(
      starts.every(
        (start, i) => Math.abs(start - (1_000 + (i * Math.ceil(interval * 1_000)) / 1_000)) < 0.002,
      ),
    ).toBe(true);
  });

  it("lets joins book no further ahead than their horizon, holding no slot while they wait, and a departure book past it", async () => {
    // Prepare: an apply container (a 2 s horizon) and a departures container, 500 ms spacing
    dynamo = await startLocalDynamo();
    const directory = directoryFrom(dynamo.tableName, dynamo.client);
    const joins = directory.schedule("tallyfy", { horizonMs: 2_000, random: () => 0 });
    const departures = directory.schedule("tallyfy");

    // Act: six joins at one moment, then a departure
    const asked = [];
    for (let i = 0; i < 6; i++) asked.push(await joins.book(500, 10_000));
    const departure = await departures.book(500, 10_000);

    // Assess: four joins fill the horizon; the fifth and sixth hold nothing and ask again when a
    // slot falls inside it; the departure goes right after the four
    expect(asked).toEqual([
      { start: 10_000 },
      { start: 10_500 },
      { start: 11_000 },
      { start: 11_500 },
      { notBefore: 10_000 + 1 },
      { notBefore: 10_000 + 1 },
    ]);
    expect(departure).toEqual({ start: 12_000 });
  });
});

describe("containers of both lanes calling Tallyfy with one token", () => {
  /** Three containers' clients, each paced at the whole budget, 15 requests each at once. */
  async function threeContainers(shared: boolean): Promise<number> {
    fake = await FakeTallyfy.start({ rateLimit: { limit: 20, windowMs: 1_000 } });
    const directory = dynamo && directoryFrom(dynamo.tableName, dynamo.client);
    const clients = Array.from(
      { length: 3 },
      () =>
        new TallyfyClient({
          organizationId: fake?.organizationId ?? "",
          baseUrl: fake?.url ?? "",
          tokens: new StaticTokenSource("test-token"),
          retry: { maxRetryAfterMs: 2_000 },
          // A tenth under the fake's limit: loopback scheduling jitter must not decide the test.
          pacer: new Pacer({
            perMinute: 18 * 60,
            timeline: shared ? directory?.schedule("tallyfy") : undefined,
          }),
        }),
    );
    await Promise.all(clients.flatMap((client) => Array.from({ length: 15 }, () => client.members.list())));
    const refused = fake.requests.filter((r) => r.status === 429).length;
    await fake.stop();
    fake = undefined;
    return refused;
  }

  it("overrun the limit when each paces alone, and keep to it together on the shared schedule", async () => {
    // Prepare
    dynamo = await startLocalDynamo();

    // Act
    const alone = await threeContainers(false);
    const shared = await threeContainers(true);

    // Assess
    expect(alone).toBeGreaterThan(0);
    expect(shared).toBe(0);
  });
});
