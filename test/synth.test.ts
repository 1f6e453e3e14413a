import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

describe("the CDK app", () => {
  it("synthesizes with the CLI from cdk.json, offline, without AWS credentials, cdk-nag clean", async () => {
    // Prepare
    const output = mkdtempSync(path.join(tmpdir(), "cdk-out-"));
    const env = {
      ...process.env,
      CDK_DISABLE_VERSION_CHECK: "1",
      CDK_DISABLE_CLI_TELEMETRY: "1",
      AWS_ACCESS_KEY_ID: "",
      AWS_SECRET_ACCESS_KEY: "",
      AWS_PROFILE: "",
      // The CLI passes a region on even without credentials; the template must not take it.
      AWS_REGION: "eu-west-1",
    };

    try {
      // Act
      const { stderr } = await run("npx", ["cdk", "synth", "-q", "--output", output], {
        env,
        timeout: 120_000,
      });

      // Assess
      const template = JSON.parse(readFileSync(path.join(output, "TallyfyIdpSync.template.json"), "utf8"));
      expect(Object.keys(template.Resources).length).toBeGreaterThan(20);
      const { Resources, Outputs } = template;
      expect(JSON.stringify({ Resources, Outputs })).not.toContain("eu-west-1");
      expect(stderr).not.toMatch(/AwsSolutions-/);
      const report = JSON.parse(readFileSync(path.join(output, "validation-report.json"), "utf8"));
      const findings = report.pluginReports.flatMap(
        (r: { violations?: { ruleName: string }[] }) => r.violations ?? [],
      );
      expect(
        findings
          .map((f: { ruleName: string }) => f.ruleName)
          .filter((name: string) => name.includes("AwsSolutions")),
      ).toEqual([]);
    } finally {
      rmSync(output, { recursive: true, force: true });
    }
  });
});
