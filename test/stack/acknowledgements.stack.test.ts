/**
 * cdk-nag's AwsSolutions pack finds nothing unacknowledged (lib/acknowledgements.ts), and can find something.
 */
import { App, Stack, aws_sqs as sqs } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { context, synth } from "./synth.js";

describe("cdk-nag", () => {
  it("finds nothing unacknowledged with every optional feature on, the endpoints' logs included", () => {
    // Prepare
    const { stack } = synth({
      ...context,
      apiLogging: "create-account-role",
      ingestMaxConcurrency: 3,
      tracing: true,
      scim: { enabled: true },
      endpointAllowedCidrs: ["203.0.113.0/24"],
      endpointWebAclArn: "arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/okta-hook/abc",
      notifications: {
        slack: { workspaceId: "T07EA123LEP", channelId: "C07EZ1ABC23" },
        teams: {
          teamId: "74361522-da01-538d-aa2e-ac7918c6bb92",
          channelId: "19%3a1d1a6fd1ea4b4b9db5a9d6a7c42b3e2c%40thread.tacv2",
          tenantId: "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        },
      },
    });

    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);

    // Assess
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });

  it("finds nothing unacknowledged in the AwsSolutions pack, bundled for real", () => {
    // Prepare
    const { stack } = synth(context, true);

    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);

    // Assess
    expect(
      report.violations.map(
        (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(", ")}`,
      ),
    ).toEqual([]);
  });

  it("does flag a queue without a dead-letter queue or TLS policy, so the check above can fail", () => {
    // Prepare
    const bare = new Stack(new App(), "Unacknowledged");
    new sqs.Queue(bare, "PlainQueue");

    // Act
    const report = new AwsSolutionsChecks().validateScope(bare);

    // Assess
    expect(report.violations.map((v) => v.ruleName)).toEqual(
      expect.arrayContaining(["AwsSolutions-SQS3", "AwsSolutions-SQS4"]),
    );
  });
});
