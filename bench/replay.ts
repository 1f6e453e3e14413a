/**
 * Runs a workload through a target (the real pipeline, or the naive baseline) against the fake
 * Tallyfy, and measures what the README's Performance section reports.
 */
import { GetQueueAttributesCommand, SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { FakeTallyfy } from "../local/fakes/fake-tallyfy.js";
import { startPipeline } from "../local/pipeline.js";
import { runNaive } from "./naive.js";
import type { Workload } from "./workload.js";

export interface ReplayOptions {
  /** Latency the fake adds to every request, before scaling. */
  readonly latencyMs: number;
  /** Tallyfy's limit, requests a minute, before scaling. */
  readonly ratePerMinute: number;
  /** Speeds the run up: the limit is multiplied and the latency and the window divided by it. */
  readonly scale: number;
  /** Apply pollers at once (the mapping's maximum concurrency). */
  readonly applyConcurrency: number;
  /**
   * Pace every poller's Tallyfy client on one shared schedule at the limit, as the stack does.
   * @default true
   */
  readonly paced?: boolean;
}

export interface ReplayResult {
  readonly target: string;
  readonly events: number;
  readonly calls: number;
  readonly reads: number;
  readonly writes: number;
  readonly throttled: number;
  readonly deadLettered: number;
  readonly wallMs: number;
  /** Calls / scaled limit: the fastest any client could make these calls. */
  readonly floorMs: number;
  readonly exact: boolean;
  readonly mismatches: string[];
  /**
   * The workload's `during` departures: from sending each to the ingest queue to Tallyfy's
   * disable, in real-time seconds (the bench's time multiplied by its speed-up).
   */
  readonly departures?: { readonly p50Seconds: number; readonly p99Seconds: number; readonly count: number };
  /** Calls by method and resource, e.g. `GET users`, `PUT groups/:id`. */
  readonly breakdown: Record<string, number>;
  /** Calls answered in each quarter second from the start, for the chart. */
  readonly perQuarterSecond: number[];
  /** The directory's DynamoDB requests by operation, and its size at the end (the pipeline only). */
  readonly directory?: {
    readonly operations: Record<string, number>;
    readonly items: number;
    readonly bytes: number;
  };
}

/** Puts the organization into the fake, keyed as the workload keys it. */
export function seedOrganization(fake: FakeTallyfy, workload: Workload): void {
  const ids = new Map<string, number>();
  for (const member of workload.members) ids.set(member.email, fake.addMember({ ...member }).id);
  for (const [name, emails] of workload.groups) {
    fake.addGroup({ name, description: `${name} team`, members: emails.map((e) => ids.get(e) ?? 0) });
  }
  fake.requests.length = 0;
}

/** Compares the fake's final state with the expected one; returns one line per difference. */
export function compareState(fake: FakeTallyfy, workload: Workload): string[] {
  const problems: string[] = [];
  const byId = new Map([...fake.members.values()].map((m) => [m.id, m.email]));
  for (const [email, want] of workload.expected.members) {
    const got = fake.memberByEmail(email);
    if (!got) {
      problems.push(`member ${email} missing`);
      continue;
    }
    for (const field of [
      "first_name",
      "last_name",
      "job_title",
      "team",
      "phone",
      "timezone",
      "role",
      "status",
    ] as const) {
      if (got[field] !== want[field])
        problems.push(`member ${email} ${field}: ${got[field]} != ${want[field]}`);
    }
  }
  if (fake.members.size !== workload.expected.members.size)
    problems.push(`members: ${fake.members.size} != ${workload.expected.members.size}`);
  for (const [name, want] of workload.expected.groups) {
    const group = fake.groupByName(name);
    const got = [
      ...(group?.members ?? []).map((id) => byId.get(id) ?? `#${id}`),
      ...(group?.guests ?? []),
    ].sort();
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      const missing = want.filter((e) => !got.includes(e));
      const extra = got.filter((e) => !want.includes(e));
      problems.push(`group ${name}: missing [${missing.join(", ")}] extra [${extra.join(", ")}]`);
    }
  }
  const guests = [...fake.guests.values()].map((g) => g.email).sort();
  if (JSON.stringify(guests) !== JSON.stringify([...workload.expected.guests].sort()))
    problems.push("guests differ");
  return problems;
}

function summarise(
  target: string,
  workload: Workload,
  fake: FakeTallyfy,
  started: number,
  deadLettered: number,
  options: ReplayOptions,
): ReplayResult {
  const wallMs = Date.now() - started;
  const calls = fake.requests.filter((r) => r.path !== "/oauth/token");
  const perQuarterSecond = Array.from({ length: Math.ceil(wallMs / 250) }, () => 0);
  for (const call of calls) {
    const bucket = Math.floor((call.at - started) / 250);
    if (bucket >= 0 && bucket < perQuarterSecond.length)
      perQuarterSecond[bucket] = (perQuarterSecond[bucket] ?? 0) + 1;
  }
  const reads = calls.filter((r) => r.method === "GET").length;
  const mismatches = compareState(fake, workload);
  const limitPerMs = (options.ratePerMinute * options.scale) / 60_000;
  return {
    target,
    events: workload.events.length,
    calls: calls.length,
    reads,
    writes: calls.length - reads,
    throttled: calls.filter((r) => r.status === 429).length,
    deadLettered,
    wallMs,
    floorMs: calls.length / limitPerMs,
    exact: mismatches.length === 0,
    mismatches: mismatches.slice(0, 10),
    breakdown: breakdownOf(calls),
    perQuarterSecond,
  };
}

function breakdownOf(
  calls: readonly { method: string; path: string; query: URLSearchParams }[],
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of calls) {
    const resource = call.path
      .replace(/^\/organizations\/[^/]+\//, "")
      .replace(/\/[0-9a-f]{32}/g, "/:id")
      .replace(/\/\d+/g, "/:id")
      .replace(/\/guests\/[^/]+/, "/guests/:email");
    const key = `${call.method} ${resource}${call.query.get("q") ? "?q" : ""}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]));
}

function fakeOptions(options: ReplayOptions) {
  return {
    latencyMs: options.latencyMs / options.scale,
    rateLimit: { limit: options.ratePerMinute, windowMs: 60_000 / options.scale },
  };
}

/** The real pipeline: fauxqs, both handlers, local event source mappings. */
export async function replayPipeline(
  workload: Workload,
  options: ReplayOptions,
  target = "tallyfy-idp-sync",
): Promise<ReplayResult> {
  const pipeline = await startPipeline({
    config: workload.config,
    maxReceiveCount: 10,
    // As in the stack: visibility six times the function timeout (here 5 s), so nothing is redelivered mid-batch.
    visibilityTimeoutSeconds: 30,
    tallyfy: fakeOptions(options),
    // In AWS the directory's work is DynamoDB's, not the functions': here it gets a process of its
    // own, so the pipeline's one thread does only what the functions would.
    dynamoProcess: "own",
    applyConcurrency: options.applyConcurrency,
    // As the stack paces them: both lanes on one schedule, at the whole budget.
    tallyfyRequestsPerMinute: options.paced === false ? undefined : options.ratePerMinute * options.scale,
  });
  try {
    seedOrganization(pipeline.tallyfy, workload);
    if (workload.prelude) {
      await sendAll(pipeline, workload.prelude);
      await pipeline.drain(240_000);
      pipeline.tallyfy.requests.length = 0;
    }
    const started = Date.now();
    await sendAll(pipeline, workload.events);
    const during = workload.during ?? [];
    const sent = new Map<string, number>();
    const draining = pipeline.drain(240_000);
    // Once the events are ingested (ingest scales out in AWS; here one poller reads them all):
    // the backlog a departure must not wait behind is Tallyfy's.
    if (during.length > 0) await ingested(pipeline);
    const from = invites(pipeline.tallyfy);
    const to = workload.events.length * 0.9;
    for (const [k, departure] of during.entries()) {
      // Spread evenly over the invitations still to come, up to 90% of them: each is sent while
      // joins wait.
      await invitesReach(pipeline.tallyfy, Math.floor(from + ((k + 1) / (during.length + 1)) * (to - from)));
      sent.set((departure.user as { email: string }).email, Date.now());
      await sendAll(pipeline, [departure]);
    }
    await draining;
    await pipeline.drain(240_000);
    const departures = sent.size > 0 ? departureLatency(pipeline.tallyfy, sent, options.scale) : undefined;
    const deadLettered =
      (await pipeline.deadLetters("ingest")).length + (await pipeline.deadLetters("reconcile")).length;
    const { items, bytes } = await pipeline.dynamo.size();
    const operations = Object.fromEntries(
      [...(await pipeline.dynamo.operations())].filter(([name]) => name !== "CreateTable" && name !== "Scan"),
    );
    return {
      ...summarise(target, workload, pipeline.tallyfy, started, deadLettered, options),
      ...(departures ? { departures } : {}),
      directory: { operations, items, bytes },
    };
  } finally {
    await pipeline.stop();
  }
}

async function sendAll(
  pipeline: { sqs: SQSClient; queues: { ingest: { url: string } } },
  events: readonly object[],
) {
  for (let i = 0; i < events.length; i += 10) {
    await pipeline.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: pipeline.queues.ingest.url,
        Entries: events
          .slice(i, i + 10)
          .map((event, n) => ({ Id: String(n), MessageBody: JSON.stringify(event) })),
      }),
    );
  }
}

async function ingested(pipeline: { sqs: SQSClient; queues: { ingest: { url: string } } }): Promise<void> {
  for (;;) {
    const { Attributes } = await pipeline.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: pipeline.queues.ingest.url,
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    const left =
      Number(Attributes?.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    if (left === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function invites(fake: FakeTallyfy): number {
  return fake.requests.filter((r) => r.path.endsWith("/users/invite")).length;
}

/** Waits until the fake has taken `count` invitations. */
async function invitesReach(fake: FakeTallyfy, count: number): Promise<void> {
  let seen = 0;
  let checked = 0;
  while (seen < count) {
    const requests = fake.requests;
    for (; checked < requests.length; checked++)
      if (requests[checked]?.path.endsWith("/users/invite")) seen++;
    if (seen < count) await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** From each departure's send to its disable at the fake, scaled to real time. */
function departureLatency(fake: FakeTallyfy, sent: ReadonlyMap<string, number>, scale: number) {
  const seconds: number[] = [];
  for (const [email, at] of sent) {
    const id = fake.memberByEmail(email)?.id;
    const disabled = fake.requests.find(
      (r) => r.method === "DELETE" && r.path.endsWith(`/users/${id}/disable`),
    );
    seconds.push(disabled ? ((disabled.at - at) * scale) / 1000 : Number.POSITIVE_INFINITY);
  }
  seconds.sort((a, b) => a - b);
  const quantile = (q: number) =>
    seconds[Math.min(seconds.length - 1, Math.ceil(q * seconds.length) - 1)] ?? Number.NaN;
  return { p50Seconds: quantile(0.5), p99Seconds: quantile(0.99), count: seconds.length };
}

/** The naive translator, on the same workload and the same fake (latency and limit included). */
export async function replayNaive(workload: Workload, options: ReplayOptions): Promise<ReplayResult> {
  const { FakeTallyfy } = await import("../local/fakes/fake-tallyfy.js");
  const fake = await FakeTallyfy.start(fakeOptions(options));
  try {
    seedOrganization(fake, workload);
    const started = Date.now();
    const failed = await runNaive(workload, fake);
    return summarise("naive baseline", workload, fake, started, failed, options);
  } finally {
    await fake.stop();
  }
}
