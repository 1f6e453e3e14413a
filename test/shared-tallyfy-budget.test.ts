/**
 * One Tallyfy budget for every container of both reconcile lanes: each request books its slot on
 * one schedule in the directory (dynalite on loopback), so containers together keep to the token's
 * limit, and one alone may use all of it.
 */
import { afterEach, describe, expect, it } from "vitest";
import { directoryFrom } from "../handlers/runtime/function-environment.js";
import { Pacer } from "../handlers/shared/pacer.js";
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
    expect([first, second, third, afterIdle]).toEqual([5_000, 5_100, 5_200, 9_000]);
  });

  it("starts the timeline again from the present when a clock that ran ahead booked it far into the future", async () => {
    // Prepare: a container whose clock is a day ahead books a slot
    dynamo = await startLocalDynamo();
    const schedule = directoryFrom(dynamo.tableName, dynamo.client).schedule("tallyfy");
    const day = 86_400_000;
    await schedule.book(100, 5_000 + day);

    // Act
    const honest = await schedule.book(100, 5_000);
    const next = await schedule.book(100, 5_000);

    // Assess: the others do not wait a day for it
    expect([honest, next]).toEqual([5_000, 5_100]);
  });

  it("never gives two containers booking at once the same slot", async () => {
    // Prepare: four containers, each with its own client to the table
    dynamo = await startLocalDynamo();
    const containers = Array.from({ length: 4 }, () =>
      directoryFrom(dynamo?.tableName ?? "", dynamo?.client).schedule("tallyfy"),
    );

    // Act: 40 bookings at the same moment, all in flight together
    const slots = await Promise.all(
      Array.from({ length: 40 }, (_, i) => containers[i % 4]?.book(10, 1_000) ?? Promise.resolve(-1)),
    );

    // Assess: exactly the forty consecutive slots from the present on
    expect([...slots].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => 1_000 + i * 10));
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
