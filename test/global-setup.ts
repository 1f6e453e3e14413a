/**
 * One temporary folder for the whole run, removed at its end. Every `new App()` of a stack test
 * synthesizes into a fresh `cdk.out…` folder under the system's temporary folder and never
 * removes it, so each `npm test` used to leave about a hundred of them behind.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export default function setup(): () => void {
  const folder = mkdtempSync(path.join(tmpdir(), "tallyfy-idp-sync-tests-"));
  // The test processes are forked after this, with this environment, so os.tmpdir() answers it.
  process.env.TMPDIR = folder;
  return () => rmSync(folder, { recursive: true, force: true });
}
