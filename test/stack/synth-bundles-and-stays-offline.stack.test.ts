import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);

/** `cdk synth` as a user runs it, offline; the template, what the CLI printed, and cdk-nag's findings. */
async function synth(extraArgs: readonly string[] = []) {
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
    const { stderr } = await run("npx", ["cdk", "synth", "-q", "--output", output, ...extraArgs], {
      env,
      timeout: 120_000,
    });
    const template = JSON.parse(readFileSync(path.join(output, "TallyfyIdpSync.template.json"), "utf8"));
    const report = JSON.parse(readFileSync(path.join(output, "validation-report.json"), "utf8"));
    const findings: string[] = report.pluginReports
      .flatMap((r: { violations?: { ruleName: string }[] }) => r.violations ?? [])
      .map((f: { ruleName: string }) => f.ruleName)
      .filter((name: string) => name.includes("AwsSolutions"));
    return { template, stderr, findings };
  } finally {
    rmSync(output, { recursive: true, force: true });
  }
}

describe("the CDK app", () => {
  it("synthesizes with the CLI from cdk.json, offline, without AWS credentials, cdk-nag clean", async () => {
    // Act
    const { template, stderr, findings } = await synth();

    // Assess
    expect(Object.keys(template.Resources).length).toBeGreaterThan(20);
    const { Resources, Outputs } = template;
    expect(JSON.stringify({ Resources, Outputs })).not.toContain("eu-west-1");
    expect(stderr).not.toMatch(/AwsSolutions-/);
    expect(findings).toEqual([]);
  });

  it("synthesizes the SCIM endpoint when cdk.json's config enables it, cdk-nag clean", async () => {
    // Prepare
    const cdkJson = JSON.parse(readFileSync(path.join(import.meta.dirname, "..", "..", "cdk.json"), "utf8"));
    const config = { ...cdkJson.context.tallyfyIdpSync, scim: { enabled: true } };

    // Act
    const { template, stderr, findings } = await synth(["-c", `tallyfyIdpSync=${JSON.stringify(config)}`]);

    // Assess
    const types = Object.entries(template.Resources as Record<string, { Type: string }>)
      .filter(([id]) => id.includes("Scim"))
      .map(([, r]) => r.Type);
    expect(types).toEqual(
      expect.arrayContaining([
        "AWS::Lambda::Function",
        "AWS::ApiGateway::RestApi",
        "AWS::SecretsManager::Secret",
      ]),
    );
    expect(Object.keys(template.Outputs).some((o) => o.includes("ScimBaseUrl"))).toBe(true);
    expect(JSON.stringify({ Resources: template.Resources, Outputs: template.Outputs })).not.toContain(
      "eu-west-1",
    );
    expect(stderr).not.toMatch(/AwsSolutions-/);
    expect(findings).toEqual([]);
  });
});
