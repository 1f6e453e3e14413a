/**
 * Convergence, property-based: random canonical events over a small organization (5 people,
 * 3 mapped groups, two role groups, every event type, partial and full updates), delivered
 * shuffled, with duplicates, stale redeliveries and injected 429s and 5xx, through the real
 * handlers, must leave Tallyfy as the same events delivered once, in order, do.
 *
 * One difference is allowed, and it is the design's: a departure that arrives before the
 * creation it follows never invites the person (nobody is sent an invitation for a job they
 * have left), where in-order delivery invites and then disables them. So both states are
 * compared as access: who is enabled, with which role and profile, and who is in which group.
 *
 * Runs: 100 by default; `CONVERGENCE_RUNS=1000 npx vitest run test/convergence.property.test.ts`
 * for a longer search.
 */
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { FakeTallyfy, Fault } from "../local/fakes/fake-tallyfy.js";
import { DEFAULT_TEST_CONFIG, startPipeline, type TestPipelineOptions } from "../local/pipeline.js";
import { isConserved } from "./support/e2e.js";

const RUNS = Number(process.env.CONVERGENCE_RUNS ?? 100);

const PEOPLE = ["ana@example.com", "ben@example.com", "cy@example.com", "gus@partner.io", "max@example.com"];
const GROUPS = ["Engineering", "Sales", "Partners"];
const IDP_GROUPS = [...GROUPS, "Tallyfy Admins", "Staff"];
const FIELDS = {
  firstName: fc.constantFrom("Ana", "Ben", "Cy", "Gus", "Max", "Sam"),
  lastName: fc.constantFrom("Ng", "Lee", "Ortiz"),
  jobTitle: fc.constantFrom("Engineer", "Lead", "Director"),
  team: fc.constantFrom("Platform", "Growth"),
  timezone: fc.constantFrom("Europe/London", "America/New_York"),
};

const groupList = fc.subarray(IDP_GROUPS);
const role = fc.constantFrom("admin", "standard", "light");

const partialUser = fc.record({ ...FIELDS, groups: groupList, role }, { requiredKeys: [] });

/**
 * The guest flag only ever makes a member of someone: a guest who becomes a member is converged
 * (scenario 13), while a member the source calls a guest is refused for an administrator to
 * decide (MemberNotGuestError), so that history has no single end state to compare.
 */
const withFlag = (email: string) =>
  email.endsWith("@partner.io") ? fc.option(fc.constant({ guest: false }), { nil: {} }) : fc.constant({});

/** One event without its id and time, which follow from its place in the sequence. */
const anEvent = fc.oneof(
  fc.constantFrom(...PEOPLE).chain((email) =>
    fc
      .record({
        firstName: FIELDS.firstName,
        lastName: FIELDS.lastName,
        more: partialUser,
        flag: withFlag(email),
      })
      .map(({ firstName, lastName, more, flag }) => ({
        type: "user.created",
        user: { ...more, ...flag, email, firstName, lastName },
      })),
  ),
  fc.constantFrom(...PEOPLE).chain((email) =>
    fc.record({ more: partialUser, flag: withFlag(email) }).map(({ more, flag }) => ({
      type: "user.updated",
      user: { ...more, ...flag, email },
    })),
  ),
  fc.constantFrom(...PEOPLE).map((email) => ({ type: "user.deactivated", user: { email } })),
  fc.constantFrom(...PEOPLE).map((email) => ({ type: "user.reactivated", user: { email } })),
  fc
    .record({
      email: fc.constantFrom(...PEOPLE),
      group: fc.constantFrom(...IDP_GROUPS),
      added: fc.boolean(),
    })
    .map(({ email, group, added }) => ({
      type: added ? "group.member_added" : "group.member_removed",
      user: { email },
      group: { name: group },
    })),
  fc
    .record({
      group: fc.constantFrom(...GROUPS),
      description: fc.constantFrom("Builders", "Sellers", "Friends"),
    })
    .map(({ group, description }) => ({ type: "group.updated", group: { name: group, description } })),
);

/** At most this many faults a run, each answering at most `MAX_FAULT_TIMES` requests. */
const MAX_FAULTS = 3;
const MAX_FAULT_TIMES = 2;

const aFault: fc.Arbitrary<Fault> = fc.record({
  method: fc.constantFrom("GET", "PUT", "POST", "DELETE"),
  status: fc.constantFrom(429, 500, 503),
  times: fc.integer({ min: 1, max: MAX_FAULT_TIMES }),
});

const scenario = fc.array(anEvent, { minLength: 1, maxLength: 12 }).chain((events) =>
  fc.record({
    events: fc.constant(
      events.map((e, index) => ({
        id: `ev-${index}`,
        time: new Date(Date.UTC(2026, 10, 23, 9, index)).toISOString(),
        source: "property",
        ...e,
      })),
    ),
    // Every event once, in a random order, then duplicates and stale redeliveries.
    order: fc.shuffledSubarray(
      events.map((_, i) => i),
      { minLength: events.length, maxLength: events.length },
    ),
    duplicates: fc.array(fc.nat(events.length - 1), { maxLength: 4 }),
    redeliveries: fc.array(fc.nat(events.length - 1), { maxLength: 3 }),
    faults: fc.array(aFault, { maxLength: MAX_FAULTS }),
  }),
);

const FAST: TestPipelineOptions = {
  // More receives than the faults can use up: a record that runs out goes to the dead-letter
  // queue, which is right, but then the two deliveries are no longer the same events. A write
  // answered with a 5xx is repeated only by redelivery, so one record may meet every fault of a
  // run, each on a receive of its own (seed 893524075 found six PUT 500s on one hire's profile
  // write, with six receives).
  maxReceiveCount: MAX_FAULTS * MAX_FAULT_TIMES + 1,
  drainIntervalMs: 15,
  tallyfyRetry: { baseDelayMs: 5, maxDelayMs: 20 },
};

/** Histories a search once found failing, tried first by shard 1 on every run. */
const FOUND = [
  // Seed 893524075: six PUT 500s, all on one hire's profile write.
  {
    events: [
      {
        type: "user.created",
        user: {
          email: "max@example.com",
          firstName: "Gus",
          lastName: "Lee",
          jobTitle: "Director",
          team: "Growth",
          timezone: "America/New_York",
          groups: ["Tallyfy Admins"],
          role: "admin",
        },
      },
      { type: "user.deactivated", user: { email: "ben@example.com" } },
      {
        type: "user.updated",
        user: {
          email: "gus@partner.io",
          jobTitle: "Lead",
          team: "Platform",
          timezone: "America/New_York",
          groups: ["Engineering", "Sales", "Partners", "Staff"],
          guest: false,
        },
      },
    ].map((e, index) => ({
      id: `ev-${index}`,
      time: new Date(Date.UTC(2026, 10, 23, 9, index)).toISOString(),
      source: "property",
      ...e,
    })),
    order: [1, 2, 0],
    duplicates: [1, 2, 0],
    redeliveries: [0],
    faults: Array.from({ length: 3 }, (): Fault => ({ method: "PUT", status: 500, times: 2 })),
  },
];

interface Access {
  readonly members: Record<string, unknown>;
  readonly guests: string[];
  readonly groups: Record<string, unknown>;
}

/** What each person can do in Tallyfy: enabled members and guests, their role and profile, their groups. */
function accessOf(tallyfy: FakeTallyfy): Access {
  const members: Record<string, unknown> = {};
  for (const m of tallyfy.members.values()) {
    if (m.status === "disabled") continue;
    const { email, first_name, last_name, role, job_title, team, timezone } = m;
    members[email] = { first_name, last_name, role, job_title, team, timezone };
  }
  const guests = [...tallyfy.guests.values()]
    .filter((g) => !g.disabled_at)
    .map((g) => g.email)
    .sort();
  const groups: Record<string, unknown> = {};
  for (const g of tallyfy.groups.values()) {
    groups[g.name] = {
      description: g.description,
      members: g.members.map((id) => tallyfy.members.get(id)?.email ?? `#${id}`).sort(),
      guests: [...g.guests].sort(),
    };
  }
  return { members, guests, groups };
}

async function deliver(
  bodies: readonly object[],
  options: TestPipelineOptions,
  faults: readonly Fault[] = [],
) {
  const pipeline = await startPipeline({ ...FAST, ...options });
  try {
    for (const name of GROUPS) pipeline.tallyfy.addGroup({ name, description: "" });
    pipeline.tallyfy.addMember({ email: "ben@example.com", first_name: "Ben", last_name: "Ng" });
    for (const fault of faults) pipeline.tallyfy.inject(fault);
    await pipeline.send(...bodies);
    await pipeline.drain(30_000);
    return {
      access: accessOf(pipeline.tallyfy),
      tallies: [...pipeline.tallies.ingest, ...pipeline.tallies.apply],
      deadLetters: [...(await pipeline.deadLetters("ingest")), ...(await pipeline.deadLetters("reconcile"))],
    };
  } finally {
    await pipeline.stop();
  }
}

/**
 * The runs are split over a few tests that run side by side: each run spends most of its time
 * waiting on queues (a write refused with a 5xx comes back after the 1 s visibility timeout), so
 * four at once finish the 100 runs in a quarter of the time on two cores.
 */
const SHARDS = 4;
/** About five times what a shard takes on two cores beside the rest of the suite. */
const SHARD_TIME_LIMIT_MS = Math.max(300_000, RUNS * 2_000);

describe.concurrent("convergence", () => {
  for (let shard = 1; shard <= SHARDS; shard++) {
    const runs = Math.ceil(RUNS / SHARDS);
    it(
      `ends in the state in-order delivery gives, whatever the order, duplicates and faults (${runs} runs, shard ${shard} of ${SHARDS})`,
      async () => {
        await fc.assert(
          fc.asyncProperty(scenario, async ({ events, order, duplicates, redeliveries, faults }) => {
            // Act
            const [inOrder, shuffled] = await Promise.all([
              deliver(events, { ingestBatchSize: 1, config: DEFAULT_TEST_CONFIG }),
              deliver(
                [...order, ...duplicates, ...redeliveries].map((i) => events[i] as object),
                { config: DEFAULT_TEST_CONFIG },
                faults,
              ),
            ]);

            // Assess
            expect(shuffled.access).toEqual(inOrder.access);
            // The one refusal a random history may provoke: a return (user.reactivated) of someone
            // never described with names cannot be invited, and says so. Nothing else is dead-lettered.
            const deadLetters = [...inOrder.deadLetters, ...shuffled.deadLetters].filter(
              (l) => l.errorType !== "CannotCreateError",
            );
            expect(deadLetters.map((l) => `${l.errorType}: ${l.errorMessage}`)).toEqual([]);
            expect([...inOrder.tallies, ...shuffled.tallies].filter((t) => !isConserved(t))).toEqual([]);
          }),
          // A failing history takes up to a drain's 30 s a try, so shrinking one can outlast the
          // test's timeout, which then reports nothing. Interrupted first, fast-check reports the
          // failure, its seed and path, with the counterexample shrunk so far.
          {
            numRuns: runs,
            examples: shard === 1 ? FOUND.map((found) => [found] as [typeof found]) : [],
            plugins: [fc.interruptAfterTimeLimit(SHARD_TIME_LIMIT_MS, { failOnInterrupt: true })],
          },
        );
      },
      SHARD_TIME_LIMIT_MS + 120_000,
    );
  }
});
