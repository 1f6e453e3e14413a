/**
 * Entra ID and Google Workspace in the stack, from cdk.json's `sources` key: a function-backed
 * endpoint each with a generated secret, a subscription function fed by EventBridge Scheduler
 * and by lifecycle messages, least-privilege grants, alarms, and cdk-nag clean with both enabled.
 */
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { parseAppConfig } from "../../lib/app-config.js";
import { TallyfyIdpSyncStack } from "../../lib/stack.js";

const context = {
  tallyfy: { organizationId: "org-123" },
  sync: {
    memberDomains: ["example.com"],
    groups: { Engineering: "Engineering" },
    entra: { tenantId: "84bd8158-6d4d-4958-8b9f-9d6445542f95", groups: ["Tallyfy Users"] },
    google: { timezoneField: "Tallyfy.timezone" },
  },
  alarmEmail: "ops@example.com",
  tracing: true,
  sources: { entra: { endpoint: true }, google: { endpoint: true } },
};

function synth(config: Record<string, unknown> = context) {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new TallyfyIdpSyncStack(app, "Test", {
    config: parseAppConfig(config),
    env: { account: "111111111111", region: "eu-west-1" },
  });
  return { stack, template: Template.fromStack(stack) };
}

describe("Entra ID and Google Workspace in the stack", () => {
  const { stack, template } = synth();
  const functions = Object.values(template.findResources("AWS::Lambda::Function")).map(
    (f) => f.Properties.Environment?.Variables ?? {},
  );

  it("builds a webhook function per source that knows its secret and queue only by id", () => {
    // Assess
    const webhooks = functions.filter((v) => v.WEBHOOK_SOURCE);
    expect(webhooks.map((v) => v.WEBHOOK_SOURCE).sort()).toEqual(["entra", "google"]);
    for (const variables of webhooks) {
      expect(variables).toMatchObject({
        WEBHOOK_SECRET_ID: expect.anything(),
        INGEST_QUEUE_URL: expect.anything(),
        UPKEEP_QUEUE_URL: expect.anything(),
      });
    }
    expect(webhooks.find((v) => v.WEBHOOK_SOURCE === "entra")?.ENTRA_TENANT_ID).toBe(
      "84bd8158-6d4d-4958-8b9f-9d6445542f95",
    );
    const secrets = Object.values(template.findResources("AWS::SecretsManager::Secret")).map(
      (s) => s.Properties,
    );
    expect(secrets.filter((s) => s.GenerateSecretString?.PasswordLength === 64)).toHaveLength(2);
    expect(JSON.stringify(template.toJSON())).not.toMatch(/clientState"\s*:\s*"[A-Za-z0-9]{64}/);
  });

  it("schedules the subscription function per source through its queue, and lets it touch only source state", () => {
    // Assess
    const schedules = Object.values(template.findResources("AWS::Scheduler::Schedule")).map(
      (s) => s.Properties,
    );
    const upkeep = schedules.filter((s) => String(s.Description).includes("subscriptions"));
    expect(upkeep.map((s) => s.ScheduleExpression).sort()).toEqual(["rate(1 hour)", "rate(30 minutes)"]);
    expect(upkeep.map((s) => JSON.parse(s.Target.Input).source).sort()).toEqual(["entra", "google"]);
    const upkeepFn = functions.find((v) => v.ENTRA_WEBHOOK_URL);
    expect(upkeepFn).toMatchObject({
      ENTRA_WEBHOOK_SECRET_ID: expect.anything(),
      GOOGLE_WEBHOOK_URL: expect.anything(),
      GOOGLE_WEBHOOK_SECRET_ID: expect.anything(),
      ENTRA_SECRET_ID: expect.anything(),
      GOOGLE_SECRET_ID: expect.anything(),
    });
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
            Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["state#*"] } },
          }),
        ]),
      },
    });
  });

  it("alarms on forged requests and on subscriptions not renewed", () => {
    // Assess
    const alarms = Object.keys(template.findResources("AWS::CloudWatch::Alarm"));
    for (const id of [
      "EntraWebhookRejectedAlarm",
      "GoogleWebhookRejectedAlarm",
      "EntraSubscriptionAlarm",
      "GoogleSubscriptionAlarm",
      "SubscriptionDeadLettersAlarm",
    ]) {
      expect(
        alarms.some((a) => a.includes(id)),
        id,
      ).toBe(true);
    }
  });

  it("finds nothing unacknowledged in the AwsSolutions pack", () => {
    // Act
    const report = new AwsSolutionsChecks().validateScope(stack);

    // Assess
    expect(
      report.violations.map(
        (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.resourceLogicalId).join(", ")}`,
      ),
    ).toEqual([]);
  });
});
