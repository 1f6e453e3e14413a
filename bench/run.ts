/**
 * `npm run bench`: the replay workload through the real pipeline and through the naive baseline,
 * and the handlers' cold start against an SDK-only bundle, all in one run. Prints a table with
 * the ratios, and writes `bench/results/latest.json`.
 *
 *   --seed <n>          first workload seed (default: a new random one each invocation, printed)
 *   --replay-runs <n>   replay runs, each with its own seed (default 3)
 *   --bulk-hires <n>    new hires in the bulk onboarding replayed in each run (default 2000; 0: none)
 *   --bulk-departures <n>  departures sent during the bulk, each timed from ingest to Tallyfy's
 *                       disable (default 50)
 *   --latency <ms>      Tallyfy latency per request, before scaling (default 30)
 *   --rate <n>          Tallyfy's limit, requests a minute, before scaling (default 600)
 *   --scale <n>         run n times faster: limit x n, latency and window / n (default 5: faster, and
 *                       the local stand-ins on 2 cores, not Tallyfy's limit, set the pace)
 *   --concurrency <n>   apply pollers at once (default 2, the stack's default)
 *   --runs <n>          fresh processes per cold-start measurement (default 7)
 *   --scim-runs <n>     runs of the SCIM latency measurement (default 3)
 *   --scim-requests <n> requests of each kind per SCIM run (default 300)
 *   --full-sync-people <n>  people in the full reconciliation's two runs (default 2000)
 *   --full-sync-finish <n>  people in the run's end measured apart (default 100000)
 *   --full-sync-memories <list>  function memories (MB, comma-separated) to try the run's end at
 *                       (default: the stack's)
 *   --full-sync-groups <n>  their IdP groups, each mapped to a Tallyfy group (default 20)
 *   --only <part>       replay, scim, cold, fullsync or scim-scale (default: the first three;
 *                       the parts at scale only when asked, each takes longer than the rest together)
 *   --scim-users, --scim-groups, --scim-samples, --scim-members
 *                       scim-scale: the store's size (50000, 2000), requests of each kind (50),
 *                       members one PATCH adds to a group (5000)
 */
import "./quiet.js";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { FULL_SYNC_STEP_TIMEOUT_MS } from "../handlers/contracts/full-sync.js";
import { writeRateChart, writeRatioChart } from "./chart.js";
import { COLD_START_TARGET, HANDLERS, measureColdStart, writeJson } from "./cold-start.js";
import { measureFullSyncAtScale } from "./full-sync-scale.js";
import { replayNaiveBeside } from "./naive-beside.js";
import { type ReplayResult, replayPipeline } from "./replay.js";
import { measureScim, type ScimRun } from "./scim.js";
import { measureScimScale, SCIM_TIMEOUT_MS } from "./scim-scale.js";
import { disorder, generateBulkOnboarding, generateWorkload } from "./workload.js";

const { values } = parseArgs({
  options: {
    seed: { type: "string" },
    "replay-runs": { type: "string", default: "3" },
    "bulk-hires": { type: "string", default: "2000" },
    "bulk-departures": { type: "string", default: "50" },
    latency: { type: "string", default: "30" },
    rate: { type: "string", default: "600" },
    scale: { type: "string", default: "5" },
    concurrency: { type: "string", default: "2" },
    runs: { type: "string", default: "7" },
    "scim-runs": { type: "string", default: "3" },
    "scim-requests": { type: "string", default: "300" },
    "full-sync-people": { type: "string", default: "2000" },
    "full-sync-finish": { type: "string", default: "100000" },
    "full-sync-memories": { type: "string" },
    "full-sync-groups": { type: "string", default: "20" },
    "scim-users": { type: "string", default: "50000" },
    "scim-groups": { type: "string", default: "2000" },
    "scim-samples": { type: "string", default: "50" },
    "scim-members": { type: "string", default: "5000" },
    only: { type: "string" },
  },
});
const options = {
  latencyMs: Number(values.latency),
  ratePerMinute: Number(values.rate),
  scale: Number(values.scale),
  applyConcurrency: Number(values.concurrency),
};

const fmt = (n: number, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
const pad = (text: string, width: number) => text.padEnd(width);

/** How much faster than ours the naive baseline runs (its calls do not depend on the speed). */
const NAIVE_SPEED_UP = 10;

/** The full reconciliation at scale takes longer than the rest together: it runs when asked. */
// The parts at scale run only when asked: each takes longer than the rest together.
const wants = (part: string) =>
  values.only === undefined ? !["fullsync", "scim-scale"].includes(part) : values.only === part;

async function main(): Promise<void> {
  const results: Record<string, unknown> = { at: new Date().toISOString(), node: process.version };
  if (wants("replay")) Object.assign(results, await benchReplay());
  if (wants("scim")) results.scim = await benchScim();
  if (wants("cold")) results.coldStart = await benchColdStart();
  if (wants("fullsync")) results.fullSyncAtScale = await benchFullSync();
  if (wants("scim-scale")) results.scimAtScale = await benchScimScale();
  writeJson(path.join(path.dirname(fileURLToPath(import.meta.url)), "results", "latest.json"), results);
}

/** Min, median and max of a figure over the runs. */
function spread(values: readonly number[]): { min: number; median: number; max: number } {
  // A figure only some runs measure (the shuffled replay) is spread over those.
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return {
    min: sorted[0] ?? Number.NaN,
    median: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

async function benchScim() {
  const runs: ScimRun[] = [];
  const count = Number(values["scim-runs"]);
  const requests = Number(values["scim-requests"]);
  for (let run = 0; run < count; run++) runs.push(await measureScim(requests));
  console.log(
    `\nSCIM endpoint on loopback (real handler, dynalite, fauxqs): ${count} runs of ${requests} requests each; min / median / max over the runs`,
  );
  console.log(`${pad("request", 22)}${pad("p50 ms", 22)}${pad("p99 ms", 22)}p50 vs baseline`);
  const table: Record<string, unknown> = {};
  for (const kind of ["baseline", "create", "patch", "filteredGet"] as const) {
    const p50 = spread(runs.map((r) => r[kind].p50));
    const p99 = spread(runs.map((r) => r[kind].p99));
    const ratio = spread(runs.map((r) => r[kind].p50 / r.baseline.p50));
    const three = (s: { min: number; median: number; max: number }) =>
      `${fmt(s.min, 1)} / ${fmt(s.median, 1)} / ${fmt(s.max, 1)}`;
    console.log(
      `${pad(kind === "baseline" ? "baseline (config GET)" : kind, 22)}${pad(three(p50), 22)}${pad(three(p99), 22)}${three(ratio)}`,
    );
    table[kind] = { p50, p99, p50VsBaseline: ratio };
  }
  return { runs: count, requests, ...table };
}

async function benchFullSync() {
  const result = await measureFullSyncAtScale({
    people: Number(values["full-sync-people"]),
    groups: Number(values["full-sync-groups"]),
    finishPeople: Number(values["full-sync-finish"]),
    finishMemoriesMb: values["full-sync-memories"]?.split(",").map(Number),
  });
  console.log(
    `\nFull reconciliation at scale (the deployed bundle, a fresh process per invocation, its heap capped at half the function's ${result.memoryMb} MB): ${result.people} people, ${result.groups} groups; an idle invocation's peak memory ${fmt(result.idleMaxRssMb, 0)} MB`,
  );
  console.log(
    `${pad("run", 50)}${pad("invocations", 13)}${pad("peak MB (max)", 15)}${pad("longest s", 11)}${pad("Tallyfy", 9)}${pad("Okta", 9)}DynamoDB / person`,
  );
  for (const r of [...result.runs, ...result.finishes]) {
    const peak = Math.max(...r.invocations.map((i) => i.maxRssMb));
    const longest = Math.max(...r.invocations.map((i) => i.ms)) / 1000;
    console.log(
      `${pad(r.name, 50)}${pad(String(r.invocations.length), 13)}${pad(fmt(peak, 0), 15)}${pad(fmt(longest, 1), 11)}${pad(String(r.tallyfyRequests), 9)}${pad(String(r.oktaRequests), 9)}${fmt(r.dynamoRequestsPerPerson, 1)}`,
    );
  }
  // The target is judged at the stack's memory; the other memories tried say what would do.
  const atStackMemory = result.finishes.filter((f) => f.report.memoryMb === result.memoryMb);
  const invocations = [...result.runs, ...atStackMemory].flatMap((r) => r.invocations);
  const failed = invocations.filter((i) => i.failed).map((i) => i.failed);
  const peak = Math.max(...invocations.map((i) => i.maxRssMb));
  const longest = Math.max(...invocations.map((i) => i.ms));
  for (const f of result.finishes) {
    const reason = f.invocations[0]?.failed;
    if (reason) console.log(`${f.name}: failed: ${reason}`);
  }
  for (const reason of new Set(failed)) console.log(`an invocation failed: ${reason}`);
  console.log(
    `(target: every invocation's heap within half the function's memory: ${failed.length === 0 ? "met" : "missed"}; inside its ${FULL_SYNC_STEP_TIMEOUT_MS / 1000} s timeout: ${longest < FULL_SYNC_STEP_TIMEOUT_MS ? "met" : "missed"})`,
  );
  return { ...result, peakMb: peak, longestMs: longest, failed };
}

async function benchScimScale() {
  const run = await measureScimScale({
    users: Number(values["scim-users"]),
    groups: Number(values["scim-groups"]),
    samples: Number(values["scim-samples"]),
    members: Number(values["scim-members"]),
  });
  const { users, groups, samples, members } = run.options;
  console.log(
    `\nSCIM with ${users} users and ${groups} groups in the store (seeded through the endpoint in ${fmt(run.seedSeconds, 0)} s); ${samples} of each request, one at a time`,
  );
  console.log(
    `${pad("request", 40)}${pad("p50 ms", 10)}${pad("p99 ms", 10)}inside the ${SCIM_TIMEOUT_MS / 1000} s timeout`,
  );
  for (const [name, f] of Object.entries(run.latencies)) {
    console.log(
      `${pad(name, 40)}${pad(fmt(f.p50, 1), 10)}${pad(fmt(f.p99, 1), 10)}${f.p99 < SCIM_TIMEOUT_MS ? "met" : "MISSED"}`,
    );
  }
  console.log(
    `${pad(`PATCH adding ${members} members`, 40)}${pad(fmt(run.bulkMembers.ms, 0), 20)}${run.bulkMembers.status < 300 && run.bulkMembers.ms < SCIM_TIMEOUT_MS ? "met" : `MISSED (status ${run.bulkMembers.status})`}`,
  );
  return run;
}

async function benchColdStart() {
  const cold = await measureColdStart(Number(values.runs));
  const baseline = cold[0];
  console.log(`\n${pad("bundle", 22)}${pad("KB", 9)}${pad("x size", 8)}${pad("import ms", 11)}x import`);
  for (const c of cold) {
    console.log(
      `${pad(c.name, 22)}${pad(fmt(c.bytes / 1024, 0), 9)}${pad(fmt(c.bytes / (baseline?.bytes ?? 1)), 8)}${pad(fmt(c.medianImportMs, 1), 11)}${fmt(c.medianImportMs / (baseline?.medianImportMs ?? 1))}`,
    );
  }
  const rows = cold.map((c) => ({
    ...c,
    sizeVsBaseline: c.bytes / (baseline?.bytes ?? 1),
    importVsBaseline: c.medianImportMs / (baseline?.medianImportMs ?? 1),
  }));
  const handlers = rows.filter((r) => HANDLERS.includes(r.name));
  const over = handlers.filter((r) => Math.max(r.sizeVsBaseline, r.importVsBaseline) > COLD_START_TARGET);
  console.log(
    `(target: each handler <= ${fmt(COLD_START_TARGET)}x the baseline in size and import time: ${over.length === 0 ? "met" : `MISSED by ${over.map((r) => r.name).join(", ")}`})`,
  );
  const results = path.join(path.dirname(fileURLToPath(import.meta.url)), "results");
  writeRatioChart(
    path.join(results, "cold-start.svg"),
    `Cold start against the SDK-only baseline (median of ${values.runs} imports)`,
    handlers.map((r) => ({ label: r.name, ratios: [r.sizeVsBaseline, r.importVsBaseline] })),
    ["bundle size", "import time"],
    COLD_START_TARGET,
  );
  console.log("chart: bench/results/cold-start.svg");
  return rows;
}

/** One replay run: a new seed, the four targets, each judged against its own lower bound. */
interface ReplayRun {
  readonly seed: number;
  readonly lowerBound: number;
  readonly ours: ReplayResult;
  readonly naive: ReplayResult;
  /** The first run's only: its figures are not targets, and three would outlast ten minutes. */
  readonly shuffled?: ReplayResult;
  readonly bulk?: ReplayResult;
  readonly bulkLowerBound?: number;
}

const HEADER = [
  pad("target", 20),
  pad("calls", 7),
  pad("reads", 7),
  pad("writes", 7),
  pad("calls/event", 12),
  pad("calls/LB", 9),
  pad("wall s", 8),
  pad("floor s", 8),
  pad("wall/floor", 11),
  pad("429s", 6),
  pad("DLQ", 5),
  "exact",
].join("");

function row(r: ReplayResult, lowerBound: number): string {
  return [
    pad(r.target, 20),
    pad(String(r.calls), 7),
    pad(String(r.reads), 7),
    pad(String(r.writes), 7),
    pad(fmt(r.calls / r.events), 12),
    pad(fmt(r.calls / lowerBound), 9),
    pad(fmt(r.wallMs / 1000, 1), 8),
    pad(fmt(r.floorMs / 1000, 1), 8),
    pad(fmt(r.wallMs / r.floorMs), 11),
    pad(String(r.throttled), 6),
    pad(String(r.deadLettered), 5),
    r.exact ? "yes" : "NO",
  ].join("");
}

async function benchReplay() {
  const count = Number(values["replay-runs"]);
  // A new seed each run, printed, so any run can be repeated with --seed.
  const first = values.seed === undefined ? Math.floor(Math.random() * 1_000_000_000) : Number(values.seed);
  const seeds = Array.from({ length: count }, (_, i) => first + i * 7_919);
  console.log(
    `Tallyfy fake: ${options.latencyMs} ms and ${options.ratePerMinute}/min, scaled x${options.scale}; ${options.applyConcurrency} apply pollers and a departures poller, booking on one shared schedule at the whole budget`,
  );
  console.log(
    `replay runs: ${count}, seeds ${seeds.join(", ")} (repeat one with --seed <n> --replay-runs 1)\n`,
  );
  const runs: ReplayRun[] = [];
  for (const [index, seed] of seeds.entries()) {
    const workload = generateWorkload({ seed });
    const hires = Number(values["bulk-hires"]);
    const leavers = Number(values["bulk-departures"]);
    const bulkWorkload = hires > 0 ? generateBulkOnboarding({ seed, hires, leavers }) : undefined;
    console.log(
      `run ${index + 1}, seed ${seed}: ${workload.events.length} events (${Object.entries(workload.counts)
        .map(([k, v]) => `${v} ${k}`)
        .join(
          ", ",
        )}); lower bound ${workload.lowerBound} writes${bulkWorkload ? `; bulk: ${hires} hires, lower bound ${bulkWorkload.lowerBound}` : ""}`,
    );
    // The baseline's calls do not depend on the speed-up, so it runs ten times faster, beside ours
    // at the lowest CPU priority.
    const naiveDone = replayNaiveBeside(seed, { ...options, scale: options.scale * NAIVE_SPEED_UP });
    naiveDone.catch(() => {}); // awaited below; until then a failure must not end the process
    const ours = await replayPipeline(workload, options);
    const shuffled =
      index === 0 ? await replayPipeline(disorder(workload, { seed }), options, "shuffled+dups") : undefined;
    const bulk = bulkWorkload && (await replayPipeline(bulkWorkload, options, `bulk ${hires} hires`));
    const naive = await naiveDone;
    console.log(HEADER);
    for (const r of [ours, naive, shuffled]) if (r) console.log(row(r, workload.lowerBound));
    if (bulk && bulkWorkload) console.log(row(bulk, bulkWorkload.lowerBound));
    console.log("");
    for (const r of [ours, shuffled, bulk])
      if (r && !r.exact) console.log(`  ${r.target} state differs: ${r.mismatches.slice(0, 3).join("; ")}`);
    runs.push({
      seed,
      lowerBound: workload.lowerBound,
      ours,
      naive,
      shuffled,
      bulk,
      bulkLowerBound: bulkWorkload?.lowerBound,
    });
  }

  const figures: [string, (r: ReplayRun) => number, string][] = [
    ["429s / Tallyfy calls", (r) => r.ours.throttled / r.ours.calls, "<= 0.01"],
    ["wall / rate-limit floor", (r) => r.ours.wallMs / r.ours.floorMs, "<= 1.15"],
    ["calls vs naive", (r) => r.ours.calls / r.naive.calls, "<= 0.50"],
    ["calls vs lower bound", (r) => r.ours.calls / r.lowerBound, "<= 1.30"],
    ["dead letters", (r) => r.ours.deadLettered, "0"],
  ];
  if (runs.some((r) => r.shuffled)) {
    const of = (f: (s: ReplayResult) => number) => (r: ReplayRun) =>
      r.shuffled ? f(r.shuffled) : Number.NaN;
    figures.push(
      ["shuffled: wall / floor", of((s) => s.wallMs / s.floorMs), ""],
      ["shuffled: 429s / calls", of((s) => s.throttled / s.calls), ""],
    );
  }
  if (runs.some((r) => r.bulk)) {
    figures.push(
      ["bulk: wall / floor", (r) => (r.bulk ? r.bulk.wallMs / r.bulk.floorMs : Number.NaN), "<= 1.15"],
      ["bulk: 429s / calls", (r) => (r.bulk ? r.bulk.throttled / r.bulk.calls : Number.NaN), ""],
      ["bulk: dead letters", (r) => r.bulk?.deadLettered ?? Number.NaN, "0"],
    );
  }
  if (runs.some((r) => r.bulk?.departures)) {
    // Real-time seconds from a departure's ingest to Tallyfy's disable, while the bulk runs.
    figures.push(
      ["bulk: departure p50 s", (r) => r.bulk?.departures?.p50Seconds ?? Number.NaN, ""],
      ["bulk: departure p99 s", (r) => r.bulk?.departures?.p99Seconds ?? Number.NaN, "<= 10"],
    );
  }
  console.log(
    `${pad("over the runs", 26)}${pad("min", 8)}${pad("median", 8)}${pad("max", 8)}target (on the median)`,
  );
  const summary: Record<string, unknown> = {};
  for (const [name, of, target] of figures) {
    const s = spread(runs.map(of));
    const met = target ? (judge(s.median, target) ? "met" : "MISSED") : "";
    const digits = name.includes("429s") ? 3 : 2;
    console.log(
      `${pad(name, 26)}${pad(fmt(s.min, digits), 8)}${pad(fmt(s.median, digits), 8)}${pad(fmt(s.max, digits), 8)}${target} ${met}`,
    );
    summary[name] = { ...s, target };
  }
  const exact = runs.every((r) => r.ours.exact && (r.shuffled?.exact ?? true) && (r.bulk?.exact ?? true));
  console.log(
    `final state exact in every run (ours, shuffled${runs.some((r) => r.bulk) ? ", bulk" : ""}): ${exact ? "yes" : "NO"}`,
  );

  const last = runs[runs.length - 1] as ReplayRun;
  const limitPerSecond = (options.ratePerMinute * options.scale) / 60;
  const results = path.join(path.dirname(fileURLToPath(import.meta.url)), "results");
  writeRateChart(
    path.join(results, "pacing.svg"),
    `Requests per second to Tallyfy, seed ${last.seed}`,
    [
      { label: "tallyfy-idp-sync (paced)", color: "#1f6feb", perQuarterSecond: last.ours.perQuarterSecond },
      ...(last.bulk
        ? [
            {
              label: `${last.bulk.target} (paced)`,
              color: "#2da44e",
              perQuarterSecond: last.bulk.perQuarterSecond,
            },
          ]
        : []),
      {
        label: "naive baseline (scaled to the same limit; bound by the machine)",
        color: "#bf8700",
        perQuarterSecond: last.naive.perQuarterSecond.flatMap((n) =>
          Array.from({ length: NAIVE_SPEED_UP }, () => n / NAIVE_SPEED_UP),
        ),
      },
    ],
    limitPerSecond,
    options.scale,
  );
  console.log("chart: bench/results/pacing.svg");
  return {
    options,
    seeds,
    summary,
    exact,
    runs: runs.map((r) => ({
      seed: r.seed,
      lowerBound: r.lowerBound,
      bulkLowerBound: r.bulkLowerBound,
      ...(r.bulk?.departures
        ? {
            departuresDuringBulk: {
              p50Seconds: r.bulk.departures.p50Seconds,
              p99Seconds: r.bulk.departures.p99Seconds,
            },
          }
        : {}),
      replay: [r.ours, r.naive, ...(r.shuffled ? [r.shuffled] : []), ...(r.bulk ? [r.bulk] : [])].map(
        ({ perQuarterSecond: _series, ...rest }) => rest,
      ),
    })),
  };
}

/** True when the value meets a target written as `<= x` or `0`. */
function judge(value: number, target: string): boolean {
  const limit = Number(target.replace(/^<=\s*/, ""));
  return value <= limit + 1e-9;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
