/**
 * A function in Lambda reads the configuration bundled beside its handler, or `SYNC_CONFIG` on a
 * stack deployed before the file. With neither, it used to start on the defaults: no member
 * domains (every address a member), no role groups and no mappings (every mapped role and group
 * taken away on the next reconcile). It refuses to start instead.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SYNC_CONFIG_FILE } from "../handlers/contracts/configuration.js";
import { syncConfigDocument } from "../handlers/runtime/function-environment.js";

describe("a function's configuration in Lambda", () => {
  it("refuses to start with neither the bundled file nor SYNC_CONFIG", () => {
    // Prepare: a task root without the file
    const taskRoot = mkdtempSync(path.join(tmpdir(), "task-root-"));

    // Act
    const read = () => syncConfigDocument(undefined, taskRoot);

    // Assess
    expect(read).toThrow(
      /the sync configuration is missing: no sync-config\.json beside the handler and no SYNC_CONFIG/,
    );
  });

  it("reads the bundled file, else SYNC_CONFIG", () => {
    // Prepare
    const bare = mkdtempSync(path.join(tmpdir(), "task-root-"));
    const bundled = mkdtempSync(path.join(tmpdir(), "task-root-"));
    writeFileSync(path.join(bundled, SYNC_CONFIG_FILE), '{"memberDomains":["example.com"]}');

    // Act
    const fromFile = syncConfigDocument('{"memberDomains":["old.example"]}', bundled);
    const fromEnvironment = syncConfigDocument('{"memberDomains":["old.example"]}', bare);

    // Assess
    expect(fromFile).toBe('{"memberDomains":["example.com"]}');
    expect(fromEnvironment).toBe('{"memberDomains":["old.example"]}');
  });
});
