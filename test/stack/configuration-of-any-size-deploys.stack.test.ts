/**
 * A configuration of any size deploys: the sync configuration is bundled beside each handler that
 * reads it, not copied into environment variables, which Lambda caps at 4 KB in all per function
 * (a few dozen group mappings passed it, and `cdk deploy` failed after synth and cdk-nag passed).
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SYNC_CONFIG_FILE } from "../../handlers/contracts/configuration.js";
import { syncConfigDocument } from "../../handlers/runtime/function-environment.js";
import { parseSyncConfig } from "../../handlers/sources/index.js";
import { context, synth } from "./synth.js";

/** Lambda's limit on a function's environment variables, all together. */
const LAMBDA_ENVIRONMENT_LIMIT = 4_096;

/** 500 IdP groups mapped to Tallyfy group ids, every source on, the full sync and SCIM too. */
const large = {
  ...context,
  scim: { enabled: true },
  sources: { entra: { endpoint: true }, google: { endpoint: true } },
  sync: {
    ...context.sync,
    groups: Object.fromEntries(
      Array.from({ length: 500 }, (_, i) => [
        `Department ${String(i).padStart(3, "0")} (all staff)`,
        `id:${i.toString(16).padStart(32, "0")}`,
      ]),
    ),
    entra: {
      tenantId: "84bd8158-6d4d-4958-8b9f-9d6445542f95",
      groups: Array.from({ length: 10 }, (_, i) => `Entra scope ${i}`),
    },
    google: { timezoneField: "Tallyfy.timezone" },
  },
};

/** Its size as deployed: a reference to another resource resolves to an ARN or a URL of about this. */
function deployedSize(variables: Record<string, unknown>): number {
  return Object.entries(variables).reduce(
    (sum, [key, value]) => sum + key.length + (typeof value === "string" ? value.length : 160),
    0,
  );
}

describe("a configuration of 500 group mappings", () => {
  it("leaves every function's environment under Lambda's 4 KB, with no configuration in it", () => {
    // Prepare
    const { template } = synth(large);

    // Act
    const environments = Object.entries(template.findResources("AWS::Lambda::Function")).map(
      ([id, f]) => [id, (f.Properties.Environment?.Variables ?? {}) as Record<string, unknown>] as const,
    );

    // Assess
    expect(JSON.stringify(large.sync).length).toBeGreaterThan(LAMBDA_ENVIRONMENT_LIMIT * 5);
    expect(environments.length).toBeGreaterThanOrEqual(7);
    const over = environments.filter(([, variables]) => deployedSize(variables) >= LAMBDA_ENVIRONMENT_LIMIT);
    expect(over.map(([id]) => id)).toEqual([]);
    const carrying = environments.filter(([, variables]) => "SYNC_CONFIG" in variables);
    expect(carrying.map(([id]) => id)).toEqual([]);
  });

  it("is bundled beside each handler that reads it, where the function finds it", () => {
    // Prepare: bundled for real, by the local esbuild
    const { app, template } = synth(large, true);

    // Act
    const assembly = app.synth();
    const bundles = Object.entries(template.findResources("AWS::Lambda::Function"))
      .filter(([id]) => /Ingest|Apply|Departures|FullSync|Upkeep/.test(id))
      .map(([id, f]) => {
        const key = String(f.Properties.Code.S3Key).replace(/\.zip$/, "");
        return [id, path.join(assembly.directory, `asset.${key}`)] as const;
      });

    // Assess: ingest, apply, departures, the full sync and the subscriptions' upkeep
    expect(bundles).toHaveLength(5);
    for (const [id, directory] of bundles) {
      expect({ id, files: fs.readdirSync(directory).sort() }).toEqual({
        id,
        files: expect.arrayContaining(["index.mjs", SYNC_CONFIG_FILE]),
      });
      const config = parseSyncConfig(syncConfigDocument(undefined, directory));
      expect(Object.keys(config.groups ?? {})).toHaveLength(500);
      expect((config.entra as { groups?: unknown[] }).groups).toHaveLength(10);
    }
  }, 120_000);
});
