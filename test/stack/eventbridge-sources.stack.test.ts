/**
 * Auth0 and IAM Identity Center in the stack, from cdk.json's `sources` key: each EventBridge
 * rule opt-in with its bus, targets with a dead-letter queue and retry policy, an alarm on failed
 * deliveries, least-privilege Identity Store reads, and cdk-nag clean with every acknowledgement
 * carrying a reason.
 */
import { App, aws_iam as iam, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { describe, expect, it } from "vitest";
import { identityCenterSource } from "../../handlers/sources/identity-center/index.js";
import { parseAppConfig } from "../../lib/app-config.js";
import { awsApiGrant } from "../../lib/ingress/source-routes.js";
import { TallyfyIdpSyncStack } from "../../lib/stack.js";
import { TallyfyIdpSyncPropsError } from "../../lib/tallyfy-idp-sync.js";

const LOG_BUS = "aws.partner/auth0.com/acme-prod-7c2f9e1a-4b3d-4a8e-9f6c-1d2e3f4a5b6c/auth0.logs";
const EVENT_BUS = "aws.partner/auth0.com/acme-prod-7c2f9e1a-4b3d-4a8e-9f6c-1d2e3f4a5b6c/auth0.events";

const context = {
  tallyfy: { organizationId: "org-123" },
  sync: {
    memberDomains: ["example.com"],
    roles: { admin: ["rol_9fQx2LkT0aAdmins1"] },
    groups: { Engineering: "Engineering" },
    "identity-center": { identityStoreId: "d-9067a1b2c3" },
  },
  alarmEmail: "ops@example.com",
  sources: {
    auth0: { eventBusNames: { LogStream: LOG_BUS, EventStream: EVENT_BUS } },
    "identity-center": { eventBusNames: { CloudTrail: "default" } },
  },
};

function synth(config: Record<string, unknown> = context) {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new TallyfyIdpSyncStack(app, "Test", {
    config: parseAppConfig(config),
    env: { account: "111111111111", region: "eu-west-1" },
  });
  return { stack, template: Template.fromStack(stack) };
}

describe("Auth0 and Identity Center in the stack", () => {
  const { stack, template } = synth();

  it("routes each feed from its own bus to the ingest queue, with a dead-letter queue and retries", () => {
    // Assess
    const rules = Object.values(template.findResources("AWS::Events::Rule")).map((r) => r.Properties);
    expect(rules.map((r) => r.EventBusName).sort()).toEqual(["default", EVENT_BUS, LOG_BUS].sort());
    for (const rule of rules) {
      expect(rule.Targets).toEqual([
        expect.objectContaining({
          DeadLetterConfig: { Arn: expect.anything() },
          RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
        }),
      ]);
    }
    const cloudTrail = rules.find((r) => r.EventBusName === "default");
    expect(cloudTrail?.EventPattern).toMatchObject({
      source: ["aws.identitystore", "aws.sso-directory"],
      "detail-type": ["AWS API Call via CloudTrail"],
      detail: { errorCode: [{ exists: false }] },
    });
    expect(rules.find((r) => r.EventBusName === LOG_BUS)?.EventPattern).toMatchObject({
      detail: { data: { type: ["sapi", "ss", "sv", "sdu", "du"] } },
    });
  });

  it("alarms on each rule's failed deliveries", () => {
    // Assess
    const alarms = template.findResources("AWS::CloudWatch::Alarm", {
      Properties: { MetricName: "FailedInvocations", Namespace: "AWS/Events" },
    });
    expect(Object.keys(alarms)).toHaveLength(3);
  });

  it("lets the ingest function read the one identity store, and gives it the Auth0 secret and rate share", () => {
    // Assess
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: "Allow",
            Action: [
              "identitystore:DescribeUser",
              "identitystore:ListGroupMembershipsForMember",
              "identitystore:DescribeGroup",
            ],
            Resource: Match.arrayWith([
              {
                "Fn::Join": [
                  "",
                  [
                    "arn:",
                    { Ref: "AWS::Partition" },
                    ":identitystore::111111111111:identitystore/d-9067a1b2c3",
                  ],
                ],
              },
            ]),
          },
        ]),
      },
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: {
        Variables: Match.objectLike({ AUTH0_SECRET_ID: Match.anyValue(), AUTH0_REQUESTS_PER_MINUTE: "24" }),
      },
    });
    expect(JSON.stringify(template.toJSON())).not.toContain("IDENTITY_STORE_ENDPOINT");
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

  it("acknowledges exactly the wildcards cdk-nag flags in the Identity Store grant, with a reason", () => {
    // Prepare: the same grant on a role the construct does not acknowledge
    const bare = new Stack(new App(), "Bare", { env: { account: "111111111111", region: "eu-west-1" } });
    const role = new iam.Role(bare, "Role", { assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com") });
    const grant = awsApiGrant(identityCenterSource, { identityStoreId: "d-9067a1b2c3" }, bare);
    if (!grant || !("actions" in grant)) throw new Error("no grant");
    role.addToPolicy(new iam.PolicyStatement(grant));

    // Act
    const flagged = new AwsSolutionsChecks().validateScope(bare).violations.map((v) => v.ruleName);

    // Assess
    expect(flagged.sort()).toEqual(
      ["user/*", "group/*", "membership/*"]
        .map((r) => `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:identitystore:::${r}]`)
        .sort(),
    );
    expect(identityCenterSource.deployment?.awsApi?.wildcardReason?.length).toBeGreaterThan(40);
  });
});

describe("Auth0 and Identity Center settings", () => {
  it.each([
    [
      "an Identity Center rule without the identity store id",
      { ...context, sync: { ...context.sync, "identity-center": {} } },
      /syncConfig\["identity-center"\]\.identityStoreId/,
    ],
    [
      "the CloudTrail rule on a bus other than the default one",
      { ...context, sources: { "identity-center": { eventBusNames: { CloudTrail: "mine" } } } },
      /writes only to the "default" bus/,
    ],
    [
      "an Auth0 rule on a bus that is not Auth0's",
      { ...context, sources: { auth0: { eventBusNames: { EventStream: "aws.partner/okta.com/x/y" } } } },
      /must be the auth0 partner bus/,
    ],
    [
      "a rule the source does not have",
      { ...context, sources: { auth0: { eventBusNames: { Webhook: LOG_BUS } } } },
      /auth0 has no such rule \(LogStream, EventStream\)/,
    ],
  ])("refuses %s", (_, config, message) => {
    // Act
    const attempt = () => synth(config);

    // Assess
    expect(attempt).toThrow(TallyfyIdpSyncPropsError);
    expect(attempt).toThrow(message);
  });

  it("builds only the Auth0 rule given a bus", () => {
    // Act
    const { template } = synth({ ...context, sources: { auth0: { eventBusName: LOG_BUS } } });

    // Assess
    const rules = Object.values(template.findResources("AWS::Events::Rule"));
    expect(rules.map((r) => r.Properties.EventBusName)).toEqual([LOG_BUS]);
  });
});
