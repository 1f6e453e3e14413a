/**
 * Template checks that held when the operations were reviewed, pinned so they go on holding.
 */
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { parseAppConfig } from "../../lib/app-config.js";
import { TallyfyIdpSyncStack } from "../../lib/stack.js";

const base = {
  tallyfy: { organizationId: "org-123" },
  sync: { memberDomains: ["example.com"] },
  alarmEmail: "ops@example.com",
  okta: { eventHook: true, logStreamEventBusName: "aws.partner/okta.com/acme/log-stream" },
};

function synth(config: Record<string, unknown>, env = true) {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new TallyfyIdpSyncStack(app, "Test", {
    config: parseAppConfig(config),
    env: env ? { account: "111111111111", region: "eu-west-1" } : undefined,
  });
  return { stack, template: Template.fromStack(stack) };
}

describe("held", () => {
  it.each([
    [
      "account-role-exists, own bus",
      { ...base, apiLogging: "account-role-exists", eventBridge: { eventPattern: { source: ["hr"] } } },
    ],
    [
      "minimal, no alarms email, own bus",
      {
        tallyfy: { organizationId: "o" },
        sync: { memberDomains: ["example.com"] },
        eventBridge: { eventPattern: { source: ["hr"] } },
      },
    ],
    [
      "everything on, own bus",
      {
        ...base,
        apiLogging: "create-account-role",
        tracing: true,
        endpointAllowedCidrs: ["203.0.113.0/24"],
        endpointWebAclArn: "arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/x/abc",
        eventBridge: { eventPattern: { source: ["hr"] } },
      },
    ],
  ])(
    "cdk-nag clean, every rule target has DLQ+retry, every log group has retention, no region literal without env (%s)",
    (_, config) => {
      for (const env of [true, false]) {
        const { stack, template } = synth(config, env);
        expect(new AwsSolutionsChecks().validateScope(stack).violations.map((v) => v.ruleName)).toEqual([]);
        for (const rule of Object.values(template.findResources("AWS::Events::Rule")))
          for (const target of rule.Properties.Targets) {
            expect(target.DeadLetterConfig?.Arn).toBeDefined();
            expect(target.RetryPolicy).toEqual({
              MaximumRetryAttempts: 185,
              MaximumEventAgeInSeconds: 86_400,
            });
          }
        for (const group of Object.values(template.findResources("AWS::Logs::LogGroup")))
          expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
        if (!env) expect(JSON.stringify(template.toJSON())).not.toMatch(/"[a-z]{2}-[a-z]+-\d"/);
        expect(JSON.stringify(template.toJSON())).not.toContain("AWSLambdaBasicExecutionRole");
      }
    },
  );
});
