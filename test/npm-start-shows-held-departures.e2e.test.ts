/**
 * `npm start -- --events <folder> --config <file>` with a departure brake: a wave of departures past
 * the limit is applied up to it, and the rest are printed under `Held departures:` and left
 * active in Tallyfy (marked `departureHeld` in the state file).
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, it } from "vitest";

const email = (i: number) => `leaver${String(i).padStart(2, "0")}@example.com`;

it("disables departures up to the brake's limit and prints the rest under Held departures", async () => {
  // Prepare: 30 arrivals, then 25 departures; the brake lets 10 through.
  const folder = mkdtempSync(path.join(tmpdir(), "held-departures-"));
  const events = path.join(folder, "events");
  const at = (second: number) => new Date(Date.UTC(2026, 10, 23, 9, 0, second)).toISOString();
  const arrivals = Array.from({ length: 30 }, (_, i) => ({
    id: `arrival-${i}`,
    type: "user.created",
    time: at(i),
    source: "hr-system",
    user: { email: email(i), firstName: "Lee", lastName: `Aver ${i}`, groups: ["Engineering", "Staff"] },
  }));
  const departures = Array.from({ length: 25 }, (_, i) => ({
    id: `departure-${i}`,
    type: "user.deactivated",
    time: at(40 + i),
    source: "hr-system",
    user: { email: email(i) },
  }));
  mkdirSync(events);
  writeFileSync(path.join(events, "01-arrivals.json"), JSON.stringify(arrivals));
  writeFileSync(path.join(events, "02-departures.json"), JSON.stringify(departures));
  const config = path.join(folder, "config.json");
  const base = JSON.parse(readFileSync("local/config.json", "utf8")) as Record<string, unknown>;
  writeFileSync(config, JSON.stringify({ ...base, departureBrake: { maxPerWindow: 10 } }));
  const state = path.join(folder, "state.json");

  // Act
  const { code, output } = await run(["--events", events, "--config", config, "--tallyfy-state", state]);

  // Assess
  expect(code).toBe(0);
  const section = output.slice(output.indexOf("Held departures:"));
  expect(section).toMatch(/^Held departures: 15 /);
  const listed = [...section.matchAll(/^ {2}leaver\d\d@example\.com: canonical already had 10 departures/gm)];
  expect(listed).toHaveLength(15);
  const final = JSON.parse(readFileSync(state, "utf8")) as {
    members: { email: string; status: string; departureHeld?: boolean }[];
  };
  const leavers = final.members.filter((m) => m.email.startsWith("leaver"));
  expect(leavers.filter((m) => m.status === "disabled")).toHaveLength(10);
  const held = leavers.filter((m) => m.departureHeld);
  expect(held).toHaveLength(15);
  expect(held.every((m) => m.status !== "disabled")).toBe(true);
  expect(output).toMatch(/reconcile: 0 messages/);
}, 120_000);

function run(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "local/start.ts", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, output })));
}
