/**
 * One temporary folder for the whole run, removed at its end. Every `new App()` of a stack test
 * synthesizes into a fresh `cdk.out…` folder under the system's temporary folder and never
 * removes it, so each `npm test` used to leave about a hundred of them behind.
 *
 * And the deployed roles' statements on the directory table, from a stack with every feature on,
 * written there once: every pipeline a test starts judges each function's DynamoDB requests by
 * its own role's (local/pipeline.ts), so a test fails as AWS would refuse.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { synthFullFeatured } from "./stack/full-featured.js";
import { directoryPolicies } from "./support/directory-policies.js";

export default function setup(): () => void {
  const folder = mkdtempSync(path.join(tmpdir(), "tallyfy-idp-sync-tests-"));
  // The test processes are forked after this, with this environment, so os.tmpdir() answers it.
  process.env.TMPDIR = folder;
  const policies = path.join(folder, "directory-policies.json");
  writeFileSync(policies, JSON.stringify(directoryPolicies(synthFullFeatured())));
  process.env.DIRECTORY_POLICIES_FILE = policies;
  return () => rmSync(folder, { recursive: true, force: true });
}
