/**
 * `npm start -- --scim` as a user runs it: the process serves the SCIM endpoint until SIGTERM,
 * then finishes the pipeline, prints the report, writes the state file and exits 0.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { entraUser, scimClient } from "./support/scim.js";

it("serves a SCIM client end to end, then reports and exits 0", async () => {
  // Prepare
  const state = path.join(mkdtempSync(path.join(tmpdir(), "scim-local-")), "state.json");
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "local/start.ts",
      "--scim",
      "--port",
      "0",
      "--scim-token",
      "t0ken",
      "--tallyfy-state",
      state,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no endpoint line in:\n${output}`)), 30_000);
    child.stdout.on("data", () => {
      const match = /^SCIM endpoint: (http:\/\/127\.0\.0\.1:\d+\/scim\/v2)$/m.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  const scim = scimClient(url, "t0ken");

  // Act
  const created = await scim.call("POST", "/Users", entraUser("quinn.ash@example.com"));
  const refused = await scimClient(url, "wrong").call("GET", "/Users");
  child.kill("SIGTERM");
  const code = await exited;

  // Assess
  expect(created.status).toBe(201);
  expect(refused.status).toBe(401);
  expect(code).toBe(0);
  expect(output).toContain("+ member quinn.ash@example.com invited");
  expect(output).toMatch(/ingest: 0 messages/);
  const final = JSON.parse(readFileSync(state, "utf8")) as { members: { email: string }[] };
  expect(final.members.map((m) => m.email)).toContain("quinn.ash@example.com");
}, 60_000);
