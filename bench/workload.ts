/**
 * The replay workload, generated from a seed: an organization of 1,000 members in 20 groups, and
 * 2,000 canonical events (an onboarding burst, profile edits, a reorganisation, departures, guests,
 * and duplicate deliveries), shuffled the way a real feed arrives: roughly in order, locally not.
 *
 * It also computes, independently of the pipeline's code, the Tallyfy state the events must lead
 * to and the lower bound: the writes strictly needed if each event were applied alone with
 * perfect knowledge of the current state.
 */

import type { FakeMember } from "../local/fakes/fake-tallyfy.js";

/** A member as the workload seeds and expects it: the fake's fields this benchmark sets. */
export type SeedMember = Pick<
  FakeMember,
  "email" | "first_name" | "last_name" | "job_title" | "team" | "phone" | "timezone" | "role" | "status"
>;

export interface Workload {
  readonly members: SeedMember[];
  /** Group name -> member emails. */
  readonly groups: Map<string, string[]>;
  readonly config: Record<string, unknown>;
  readonly events: Record<string, unknown>[];
  readonly expected: ExpectedState;
  readonly lowerBound: number;
  readonly counts: Record<string, number>;
  /** Events applied before the clock starts (people the sync provisioned earlier). */
  readonly prelude?: Record<string, unknown>[];
  /** Departures sent one by one while `events` are applied, spread over the first 80% of them. */
  readonly during?: Record<string, unknown>[];
}

export interface ExpectedState {
  readonly members: Map<string, SeedMember>;
  /** Group name -> sorted member and guest emails. */
  readonly groups: Map<string, string[]>;
  readonly guests: Set<string>;
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const FIRST = [
  "Ada",
  "Ben",
  "Cai",
  "Dee",
  "Eli",
  "Fay",
  "Gus",
  "Hal",
  "Ivy",
  "Jo",
  "Kai",
  "Lea",
  "Max",
  "Nia",
  "Oz",
  "Pia",
];
const LAST = [
  "Ng",
  "Ortiz",
  "Patel",
  "Quinn",
  "Rossi",
  "Sato",
  "Tran",
  "Uddin",
  "Vega",
  "Weiss",
  "Xu",
  "Yilmaz",
  "Zhou",
];
const TITLES = [
  "Engineer",
  "Analyst",
  "Designer",
  "Manager",
  "Recruiter",
  "Accountant",
  "Support Lead",
  "Researcher",
];
const TEAMS = ["Platform", "Payments", "People", "Finance", "Growth", "Support", "Data"];
const ZONES = ["Europe/London", "America/New_York", "Asia/Tokyo", "Europe/Berlin", "Australia/Sydney"];

/** A person with a profile drawn from the seed, in the same order for every workload. */
function randomPerson(
  pick: <T>(items: readonly T[]) => T,
  email: string,
  role: SeedMember["role"],
  status: SeedMember["status"],
): SeedMember {
  return {
    email,
    first_name: pick(FIRST),
    last_name: pick(LAST),
    job_title: pick(TITLES),
    team: pick(TEAMS),
    phone: null,
    timezone: pick(ZONES),
    role,
    status,
  };
}

export interface WorkloadOptions {
  readonly seed?: number;
  readonly members?: number;
  readonly groups?: number;
  readonly totalEvents?: number;
}

export function generateWorkload(options: WorkloadOptions = {}): Workload {
  const rnd = random(options.seed ?? 20261123);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;
  const memberCount = options.members ?? 1000;
  const groupNames = Array.from(
    { length: options.groups ?? 20 },
    (_, i) => `Group ${String(i + 1).padStart(2, "0")}`,
  );
  const totalEvents = options.totalEvents ?? 2000;

  // The organization before the run.
  const person = (email: string, role: SeedMember["role"], status: SeedMember["status"]) =>
    randomPerson(pick, email, role, status);
  // The role is drawn after the profile, as the seed has always drawn it.
  const members: SeedMember[] = Array.from({ length: memberCount }, (_, i) => ({
    ...person(`m${String(i).padStart(4, "0")}@example.com`, "standard", "active"),
    role: rnd() < 0.05 ? "admin" : rnd() < 0.1 ? "light" : "standard",
  }));
  const groups = new Map(groupNames.map((name) => [name, [] as string[]]));
  for (const member of members) {
    for (const name of new Set([pick(groupNames), rnd() < 0.5 ? pick(groupNames) : undefined])) {
      if (name) groups.get(name)?.push(member.email);
    }
  }
  const config = {
    memberDomains: ["example.com"],
    roles: { admin: ["Tallyfy Admins"], standard: [], light: ["Contractors"] },
    defaultRole: "standard",
    groups: Object.fromEntries(groupNames.map((name) => [name, name])),
    createMissingGroups: false,
    deprovision: "disable",
    inviteMessage: "Welcome to Tallyfy",
    // The workload's 50 departures are meant: the brake admits them (test/departure-brake.e2e.test.ts
    // shows it holding a wave it should).
    departureBrake: { maxPerWindow: 100 },
  };

  // Each entry: the event, a rough arrival time (its phase plus jitter), and its writes in the lower bound.
  const timeline: { at: number; event: Record<string, unknown>; writes: number }[] = [];
  let next = 0;
  const add = (
    phase: number,
    spread: number,
    type: string,
    fields: Record<string, unknown>,
    writes: number,
  ) => {
    next++;
    const event = {
      id: `bench-${String(next).padStart(5, "0")}`,
      type,
      time: new Date(Date.UTC(2026, 10, 23, 9, 0, 0, next)).toISOString(),
      ...fields,
    };
    timeline.push({ at: phase + rnd() * spread, event, writes });
  };
  const expectedMembers = new Map(members.map((m) => [m.email, { ...m }]));
  const expectedGroups = new Map([...groups].map(([name, emails]) => [name, new Set(emails)]));
  const guests = new Set<string>();
  const counts: Record<string, number> = {};
  const count = (kind: string, n = 1) => {
    counts[kind] = (counts[kind] ?? 0) + n;
  };

  // 1. Onboarding burst: 200 new people, each created, then added to 1-3 groups; one in ten made admin.
  for (let i = 0; i < 200; i++) {
    const email = `n${String(i).padStart(3, "0")}@example.com`;
    const newcomer = person(email, "standard", "invited");
    const at = rnd() * 1000;
    // Invite carries the names; title, team and time zone need a profile PUT.
    add(
      at,
      20,
      "user.created",
      {
        user: {
          email,
          firstName: newcomer.first_name,
          lastName: newcomer.last_name,
          jobTitle: newcomer.job_title,
          team: newcomer.team,
          timezone: newcomer.timezone,
        },
      },
      2,
    );
    count("onboarding");
    for (const name of new Set([
      pick(groupNames),
      pick(groupNames),
      rnd() < 0.3 ? pick(groupNames) : groupNames[0],
    ])) {
      if (!name) continue;
      add(at, 40, "group.member_added", { user: { email }, group: { name } }, 1);
      expectedGroups.get(name)?.add(email);
      count("onboarding group adds");
    }
    if (rnd() < 0.1) {
      add(at, 40, "group.member_added", { user: { email }, group: { name: "Tallyfy Admins" } }, 1);
      newcomer.role = "admin";
      count("onboarding admins");
    }
    expectedMembers.set(email, newcomer);
  }

  // 2. Profile edits: 500 existing members, one or two fields each; one in five sends what is already there.
  const shuffled = [...members].sort(() => rnd() - 0.5);
  for (const member of shuffled.slice(0, 500)) {
    const expected = expectedMembers.get(member.email) as SeedMember;
    const user: Record<string, unknown> = { email: member.email };
    if (rnd() < 0.2) {
      user.jobTitle = member.job_title;
      add(1000 + rnd() * 1000, 0, "user.updated", { user }, 0);
      count("edits changing nothing");
      continue;
    }
    const title = pick(TITLES.filter((t) => t !== member.job_title));
    user.jobTitle = title;
    expected.job_title = title;
    if (rnd() < 0.5) {
      const phone = `+44 20 7946 ${String(Math.floor(rnd() * 10_000)).padStart(4, "0")}`;
      user.phone = phone;
      expected.phone = phone;
    }
    add(1000 + rnd() * 1000, 0, "user.updated", { user }, 1);
    count("edits");
  }

  // 3. Reorganisation: 300 existing members each leave one group and join another.
  for (const member of shuffled.slice(200, 500)) {
    const from = groupNames.find((name) => expectedGroups.get(name)?.has(member.email));
    const to = pick(groupNames.filter((name) => !expectedGroups.get(name)?.has(member.email)));
    if (!from || !to) continue;
    const at = 2000 + rnd() * 1000;
    add(at, 30, "group.member_removed", { user: { email: member.email }, group: { name: from } }, 1);
    add(at, 30, "group.member_added", { user: { email: member.email }, group: { name: to } }, 1);
    expectedGroups.get(from)?.delete(member.email);
    expectedGroups.get(to)?.add(member.email);
    count("moves");
  }

  // 4. Departures: 50 existing members.
  for (const member of shuffled.slice(500, 550)) {
    add(3000 + rnd() * 300, 0, "user.deactivated", { user: { email: member.email } }, 1);
    (expectedMembers.get(member.email) as SeedMember).status = "disabled";
    count("departures");
  }

  // 5. Guests: 20 people from a partner, each created and added to one group.
  for (let i = 0; i < 20; i++) {
    const email = `g${String(i).padStart(2, "0")}@partner.io`;
    const name = pick(groupNames);
    const at = rnd() * 3300;
    add(at, 0, "user.created", { user: { email, firstName: pick(FIRST), lastName: pick(LAST) } }, 1);
    add(at, 40, "group.member_added", { user: { email }, group: { name } }, 1);
    guests.add(email);
    expectedGroups.get(name)?.add(email);
    count("guests");
  }

  // 6. Duplicate deliveries up to the total, each arriving a little after its original.
  const unique = timeline.length;
  const duplicates = Math.max(0, totalEvents - unique);
  for (let i = 0; i < duplicates; i++) {
    const original = pick(timeline.slice(0, unique));
    timeline.push({ at: original.at + rnd() * 200, event: original.event, writes: 0 });
  }
  count("duplicates", duplicates);

  timeline.sort((a, b) => a.at - b.at);
  return {
    members,
    groups,
    config,
    events: timeline.map((t) => t.event),
    expected: {
      members: expectedMembers,
      groups: new Map([...expectedGroups].map(([name, emails]) => [name, [...emails].sort()])),
      guests,
    },
    lowerBound: timeline.reduce((sum, t) => sum + t.writes, 0),
    counts,
  };
}

/**
 * The same workload, delivered as badly as SQS and the identity provider may: fully shuffled,
 * plus `duplicates` (a share of the events, sent twice) and `stale` (a share sent again at the
 * very end, after every newer change). The expected end state does not change.
 */
export function disorder(
  workload: Workload,
  options: { readonly seed?: number; readonly duplicates?: number; readonly stale?: number } = {},
): Workload {
  const rnd = random(options.seed ?? 7);
  const { events } = workload;
  const pickSome = (share: number) =>
    Array.from(
      { length: Math.round(events.length * share) },
      () => events[Math.floor(rnd() * events.length)],
    );
  const shuffled = [...events, ...pickSome(options.duplicates ?? 0.1)]
    .map((event) => ({ event, key: rnd() }))
    .sort((a, b) => a.key - b.key)
    .map(({ event }) => event);
  return {
    ...workload,
    events: [...shuffled, ...pickSome(options.stale ?? 0.05)].filter((e) => e !== undefined),
  };
}

/**
 * A bulk onboarding: `hires` new people created at once, each with a full list of one to three
 * groups, into an organization that has the groups and nobody in them yet. Lower bound per hire:
 * the invitation, the profile write (title, team and time zone are not part of an invitation),
 * and one group write per group.
 */
export function generateBulkOnboarding(
  options: {
    readonly seed?: number;
    readonly hires?: number;
    /** People provisioned before the bulk, whose departures are sent during it. @default 0 */
    readonly leavers?: number;
  } = {},
): Workload {
  const rnd = random(options.seed ?? 20261201);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;
  const groupNames = Array.from({ length: 20 }, (_, i) => `Group ${String(i + 1).padStart(2, "0")}`);
  const expectedGroups = new Map(groupNames.map((name) => [name, new Set<string>()]));
  const expectedMembers = new Map<string, SeedMember>();
  const events: Record<string, unknown>[] = [];
  let lowerBound = 0;
  const hires = options.hires ?? 2000;
  for (let i = 0; i < hires; i++) {
    const email = `h${String(i).padStart(4, "0")}@example.com`;
    const hire = randomPerson(pick, email, "standard", "invited");
    const groups = [...new Set([pick(groupNames), rnd() < 0.5 ? pick(groupNames) : undefined])].filter(
      (g): g is string => g !== undefined,
    );
    events.push({
      id: `bulk-${String(i).padStart(5, "0")}`,
      type: "user.created",
      time: new Date(Date.UTC(2026, 10, 30, 9, 0, 0, i)).toISOString(),
      user: {
        email,
        firstName: hire.first_name,
        lastName: hire.last_name,
        jobTitle: hire.job_title,
        team: hire.team,
        timezone: hire.timezone,
        groups,
      },
    });
    for (const name of groups) expectedGroups.get(name)?.add(email);
    expectedMembers.set(email, hire);
    lowerBound += 2 + groups.length;
  }
  const prelude: Record<string, unknown>[] = [];
  const during: Record<string, unknown>[] = [];
  for (let i = 0; i < (options.leavers ?? 0); i++) {
    const email = `leaver${String(i).padStart(3, "0")}@example.com`;
    const leaver = randomPerson(pick, email, "standard", "disabled");
    const user = { email, firstName: leaver.first_name, lastName: leaver.last_name };
    prelude.push({ id: `hired-${i}`, type: "user.created", time: "2026-11-30T08:00:00.000Z", user });
    during.push({
      id: `left-${i}`,
      type: "user.deactivated",
      time: new Date(Date.UTC(2026, 10, 30, 9, 30, 0, i)).toISOString(),
      user: { email },
    });
    expectedMembers.set(email, { ...leaver, job_title: null, team: null, timezone: "UTC", phone: null });
  }
  return {
    ...(prelude.length > 0 ? { prelude, during } : {}),
    members: [],
    groups: new Map(groupNames.map((name) => [name, []])),
    config: {
      memberDomains: ["example.com"],
      roles: { admin: [], standard: [], light: [] },
      defaultRole: "standard",
      groups: Object.fromEntries(groupNames.map((name) => [name, name])),
      createMissingGroups: false,
      deprovision: "disable",
      inviteMessage: "Welcome to Tallyfy",
      departureBrake: { maxPerWindow: 100 },
    },
    events,
    expected: {
      members: expectedMembers,
      groups: new Map([...expectedGroups].map(([name, emails]) => [name, [...emails].sort()])),
      guests: new Set(),
    },
    lowerBound,
    counts: { hires },
  };
}
