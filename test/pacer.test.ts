/**
 * The pacer on a fake clock (its schedule is arithmetic), and the Tallyfy client paced against
 * the fake Tallyfy's rolling-window limit on loopback.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Pacer } from "../handlers/shared/pacer.js";
import { OktaClient } from "../handlers/sources/okta/client.js";
import { StaticOktaCredentials } from "../handlers/sources/okta/credentials.js";
import { TallyfyClient } from "../handlers/tallyfy/client.js";
import { StaticTokenSource } from "../handlers/tallyfy/credentials.js";
import { FakeOkta } from "../local/fakes/fake-okta.js";
import { FakeTallyfy } from "../local/fakes/fake-tallyfy.js";

/** A clock that only moves when the pacer sleeps. */
function fakeClock() {
  let now = 1_000_000;
  const slept: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      slept.push(ms);
      now += ms;
    },
    slept,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe("the pacer", () => {
  it("spaces requests at 98% of the budget", async () => {
    // Prepare
    const clock = fakeClock();
    const pacer = new Pacer({ perMinute: 600, now: clock.now, sleep: clock.sleep });
    const start = clock.now();

    // Act
    for (let i = 0; i < 96; i++) await pacer.take();

    // Assess: 95 intervals of 60,000 / (600 x 0.98) ms
    expect(clock.now() - start).toBeCloseTo((95 * 60_000) / 588, 0);
  });

  it("waits for the later of its own slot and the one the shared timeline books, booked at the whole budget", async () => {
    // Prepare: another container has booked the next 500 ms
    const clock = fakeClock();
    const start = clock.now();
    const booked: number[] = [];
    let tat = start + 500;
    const timeline = {
      book: async (intervalMs: number, now: number) => {
        booked.push(intervalMs);
        const slot = Math.max(tat, now);
        tat = slot + intervalMs;
        return { start: slot };
      },
    };
    const pacer = new Pacer({ perMinute: 600, timeline, now: clock.now, sleep: clock.sleep });

    // Act: then a 429 halves this container's own rate; its bookings stay at the budget's spacing
    await pacer.take();
    const afterFirst = clock.now() - start;
    await pacer.take();
    const afterSecond = clock.now() - start;
    pacer.throttled();
    await pacer.take();
    await pacer.take();
    const afterFourth = clock.now() - start;

    // Assess
    expect(afterFirst).toBe(500);
    expect(afterSecond).toBeCloseTo(500 + 60_000 / 588, 5);
    expect(afterFourth).toBeCloseTo(500 + 2 * (60_000 / 588) + 60_000 / 294, 5);
    expect(booked).toEqual(Array.from({ length: 4 }, () => 60_000 / 588));
  });

  it("halves on a 429, recovers a fiftieth of the budget per answer, and never passes the budget", () => {
    // Prepare
    const pacer = new Pacer({ perMinute: 600 });

    // Act
    pacer.throttled();
    const halved = pacer.perMinute;
    for (let i = 0; i < 10; i++) pacer.answered();
    const recovering = pacer.perMinute;
    for (let i = 0; i < 100; i++) pacer.answered();

    // Assess
    expect(halved).toBeCloseTo(294, 5);
    expect(recovering).toBeCloseTo(294 + 10 * (588 / 50), 5);
    expect(pacer.perMinute).toBeCloseTo(588, 5);
  });

  it("spreads what the API says is left over the rest of its window", () => {
    // Prepare
    const pacer = new Pacer({ perMinute: 6_000 });

    // Act: 30 requests left for the next 10 seconds
    pacer.answered({ remaining: 30, resetMs: 10_000 });

    // Assess: 90% of 30 over 10 s is 162 a minute
    expect(pacer.perMinute).toBeCloseTo(162, 5);
  });
});

describe("a paced client whose caller keeps another clock", () => {
  it("measures the deadline's time left on its own clock, not the caller's (an injected clock, a full sync's)", async () => {
    // Prepare: the client's clock is a test's, far from the pacer's real one
    const fake = await FakeTallyfy.start();
    const callerNow = 1_000_000;
    const client = new TallyfyClient({
      organizationId: fake.organizationId,
      baseUrl: fake.url,
      tokens: new StaticTokenSource("test-token"),
      pacer: new Pacer({ perMinute: 600 }),
      now: () => callerNow,
    });

    // Act: five seconds left, on the caller's clock
    const outcome = await client.members.list({ deadline: callerNow + 5_000 }).then(
      () => "answered",
      (error: Error) => error.name,
    );
    await fake.stop();

    // Assess
    expect(outcome).toBe("answered");
  });
});

describe("the Tallyfy client, paced, against a rolling-window limit", () => {
  let fake: FakeTallyfy | undefined;
  afterEach(async () => {
    await fake?.stop();
  });

  async function burst(pacer: Pacer | undefined): Promise<number> {
    fake = await FakeTallyfy.start({ rateLimit: { limit: 20, windowMs: 1_000 } });
    const client = new TallyfyClient({
      organizationId: fake.organizationId,
      baseUrl: fake.url,
      tokens: new StaticTokenSource("test-token"),
      retry: { maxRetryAfterMs: 2_000 },
      pacer,
    });
    await Promise.all(Array.from({ length: 45 }, () => client.members.list()));
    const refused = fake.requests.filter((r) => r.status === 429).length;
    await fake.stop();
    fake = undefined;
    return refused;
  }

  it("is refused with 429 when it bursts, and not when it is paced under the limit", async () => {
    // Act
    const unpaced = await burst(undefined);
    // A tenth under the fake's limit: loopback scheduling jitter must not decide the test.
    const paced = await burst(new Pacer({ perMinute: 18 * 60 }));

    // Assess
    expect(unpaced).toBeGreaterThan(0);
    expect(paced).toBe(0);
  });
});

describe("the clients read the API's own account of its window", () => {
  it("Tallyfy: an X-RateLimit-Remaining spreads what is left over the rolling minute", async () => {
    // Prepare
    const fake = await FakeTallyfy.start();
    const pacer = new Pacer({ perMinute: 6_000 });
    const client = new TallyfyClient({
      organizationId: fake.organizationId,
      baseUrl: fake.url,
      tokens: new StaticTokenSource("test-token"),
      pacer,
    });
    fake.inject({ method: "GET", headers: { "X-RateLimit-Remaining": "30" }, times: 1 });

    // Act
    await client.members.list();
    await fake.stop();

    // Assess: 90% of 30 over the minute
    expect(pacer.perMinute).toBeCloseTo(27, 5);
  });

  it("Okta: X-Rate-Limit-Remaining and -Reset keep a client under a limit far below its budget", async () => {
    // Prepare
    const okta = await FakeOkta.start({ apiTokens: ["ssws-1"], rateLimit: { limit: 20, windowMs: 2_000 } });
    const user = okta.addUser({ login: "a@example.com" });
    const run = async (pacer?: Pacer) => {
      okta.setRateLimit({ limit: 20, windowMs: 2_000 });
      okta.requests.length = 0;
      const client = new OktaClient({ credentials: new StaticOktaCredentials(okta.url, "ssws-1"), pacer });
      for (let i = 0; i < 30; i++) await client.getUser(user.id);
      return okta.requests.filter((r) => r.status === 429).length;
    };

    // Act
    const unpaced = await run();
    const paced = await run(new Pacer({ perMinute: 6_000 }));
    await okta.stop();

    // Assess
    expect(unpaced).toBeGreaterThan(0);
    expect(paced).toBe(0);
  });
});
