/**
 * `npm run bench`: the replay workload through the real pipeline and through the naive baseline,
 * and the handlers' cold start against an SDK-only bundle, all in one run. Prints a table with
 * the ratios, and writes `bench/results/latest.json`.
 *
 *   --seed <n>          workload seed (default 20261123)
 *   --latency <ms>      Tallyfy latency per request, before scaling (default 30)
 *   --rate <n>          Tallyfy's limit, requests a minute, before scaling (default 600)
 *   --scale <n>         run n times faster: limit x n, latency and window / n (default 10)
 *   --concurrency <n>   apply pollers at once (default 2, the stack's default)
 *   --runs <n>          fresh processes per cold-start measurement (default 21)
 *   --scim-runs <n>     runs of the SCIM latency measurement (default 3)
 *   --scim-requests <n> requests of each kind per SCIM run (default 1000)
 *   --only <part>       replay, scim or cold (default: all three)
 */
import "./quiet.js";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { measureColdStart, writeJson } from "./cold-start.js";
import { type ReplayResult, replayNaive, replayPipeline } from "./replay.js";
import { measureScim, type ScimRun } from "./scim.js";
import { disorder, generateWorkload } from "./workload.js";

const { values } = parseArgs({
  options: {
    seed: { type: "string", default: "20261123" },
    latency: { type: "string", default: "30" },
    rate: { type: "string", default: "600" },
    scale: { type: "string", default: "10" },
    concurrency: { type: "string", default: "2" },
    runs: { type: "string", default: "21" },
    "scim-runs": { type: "string", default: "3" },
    "scim-requests": { type: "string", default: "1000" },
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

const wants = (part: string) => values.only === undefined || values.only === part;

async function main(): Promise<void> {
  const results: Record<string, unknown> = { at: new Date().toISOString(), node: process.version };
  if (wants("replay")) Object.assign(results, await benchReplay());
  if (wants("scim")) results.scim = await benchScim();
  if (wants("cold")) results.coldStart = await benchColdStart();
  writeJson(path.join(path.dirname(fileURLToPath(import.meta.url)), "results", "latest.json"), results);
}

/** Min, median and max of a figure over the runs. */
function spread(values: readonly number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
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

async function benchColdStart() {
  const cold = await measureColdStart(Number(values.runs));
  const baseline = cold[0];
  console.log(`\n${pad("bundle", 22)}${pad("KB", 9)}${pad("x size", 8)}${pad("import ms", 11)}x import`);
  for (const c of cold) {
    console.log(
      `${pad(c.name, 22)}${pad(fmt(c.bytes / 1024, 0), 9)}${pad(fmt(c.bytes / (baseline?.bytes ?? 1)), 8)}${pad(fmt(c.medianImportMs, 1), 11)}${fmt(c.medianImportMs / (baseline?.medianImportMs ?? 1))}`,
    );
  }
  console.log("(target: each handler <= 1.30x the baseline in size and import time)");
  return cold.map((c) => ({
    ...c,
    sizeVsBaseline: c.bytes / (baseline?.bytes ?? 1),
    importVsBaseline: c.medianImportMs / (baseline?.medianImportMs ?? 1),
  }));
}

async function benchReplay() {
  const workload = generateWorkload({ seed: Number(values.seed) });
  console.log(
    `workload: seed ${values.seed}, ${workload.members.length} members, ${workload.groups.size} groups, ${workload.events.length} events`,
  );
  console.log(
    `  ${Object.entries(workload.counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(", ")}`,
  );
  console.log(`  lower bound: ${workload.lowerBound} writes strictly needed`);
  console.log(
    `Tallyfy fake: ${options.latencyMs} ms and ${options.ratePerMinute}/min, scaled x${options.scale}; ${options.applyConcurrency} apply pollers\n`,
  );

  const ours = await replayPipeline(workload, options);
  const naive = await replayNaive(workload, options);
  const shuffled = await replayPipeline(disorder(workload), options, "shuffled+dups");
  const replay = [ours, naive, shuffled];

  console.log(
    [
      pad("target", 18),
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
    ].join(""),
  );
  for (const r of replay) {
    console.log(
      [
        pad(r.target, 18),
        pad(String(r.calls), 7),
        pad(String(r.reads), 7),
        pad(String(r.writes), 7),
        pad(fmt(r.calls / r.events), 12),
        pad(fmt(r.calls / workload.lowerBound), 9),
        pad(fmt(r.wallMs / 1000, 1), 8),
        pad(fmt(r.floorMs / 1000, 1), 8),
        pad(fmt(r.wallMs / r.floorMs), 11),
        pad(String(r.throttled), 6),
        pad(String(r.deadLettered), 5),
        r.exact ? "yes" : "NO",
      ].join(""),
    );
  }
  console.log(`\ncalls vs naive: ${fmt(ours.calls / naive.calls)}   (target <= 0.50)`);
  console.log(`calls vs lower bound: ${fmt(ours.calls / workload.lowerBound)}   (target <= 1.50)`);
  console.log(
    `wall vs rate-limit floor: ${fmt(ours.wallMs / ours.floorMs)}   (target <= 1.25, no dead letters, exact state)`,
  );
  for (const r of replay)
    if (!r.exact) console.log(`  ${r.target} state differs: ${r.mismatches.slice(0, 3).join("; ")}`);
  console.log(
    `(shuffled+dups: the same workload fully shuffled, ${shuffled.events - workload.events.length} extra copies: 10% duplicates, 5% stale redeliveries sent last)`,
  );
  for (const r of [ours, shuffled]) {
    if (!r.directory) continue;
    const ops = Object.values(r.directory.operations).reduce((a, b) => a + b, 0);
    console.log(
      `directory (${r.target}): ${ops} DynamoDB requests, ${fmt(ops / r.events)} per event (${Object.entries(
        r.directory.operations,
      )
        .map(([name, n]) => `${name} ${n}`)
        .join(", ")}); ${r.directory.items} items, ${fmt(r.directory.bytes / 1024, 0)} KB`,
    );
  }

  return {
    options: { ...options, seed: Number(values.seed) },
    workload: { events: workload.events.length, counts: workload.counts, lowerBound: workload.lowerBound },
    replay: replay.map((r: ReplayResult) => ({
      ...r,
      callsPerEvent: r.calls / r.events,
      callsVsLowerBound: r.calls / workload.lowerBound,
      wallVsFloor: r.wallMs / r.floorMs,
    })),
    ratios: {
      callsVsNaive: ours.calls / naive.calls,
      callsVsLowerBound: ours.calls / workload.lowerBound,
      wallVsFloor: ours.wallMs / ours.floorMs,
    },
  };
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
