/**
 * What each enabled source asks for (lib/source-ingress.ts, lib/ingress/): endpoints, their logs and address ranges, EventBridge rules, sources by registry id.
 */
import { App, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { TallyfyIdpSync } from "../../lib/tallyfy-idp-sync.js";
import { context, synth } from "./synth.js";

let built: ReturnType<typeof synth>;

beforeAll(() => {
  built = synth();
});

describe("the webhook endpoint's logs and alarms", () => {
  it("leaves the region's API Gateway account setting alone unless asked, and logs nothing without its role", () => {
    // Prepare
    const { template } = built;
    const [stage] = Object.values(template.findResources("AWS::ApiGateway::Stage")).map((r) => r.Properties);

    // Assess
    template.resourceCountIs("AWS::ApiGateway::Account", 0);
    expect(stage?.AccessLogSetting).toBeUndefined();
    expect(JSON.stringify(stage?.MethodSettings ?? [])).not.toContain("LoggingLevel");
  });

  it("logs to log groups the stack owns when the region's role exists, and sets the role only when told", () => {
    // Prepare
    const existing = synth({ ...context, apiLogging: "account-role-exists" }).template;
    const created = synth({ ...context, apiLogging: "create-account-role" }).template;

    // Assess
    existing.resourceCountIs("AWS::ApiGateway::Account", 0);
    existing.hasResourceProperties("AWS::ApiGateway::Stage", {
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      MethodSettings: Match.arrayWith([Match.objectLike({ LoggingLevel: "ERROR", DataTraceEnabled: false })]),
    });
    existing.hasResource("AWS::Logs::LogGroup", {
      DeletionPolicy: "Delete",
      Properties: {
        LogGroupName: {
          "Fn::Join": ["", ["API-Gateway-Execution-Logs_", { Ref: Match.stringLikeRegexp("Api") }, "/okta"]],
        },
        RetentionInDays: 30,
      },
    });
    created.resourceCountIs("AWS::ApiGateway::Account", 1);
    // Kept when the stack goes, so the region's other APIs keep logging.
    created.hasResource("AWS::ApiGateway::Account", { DeletionPolicy: "Retain" });
  });

  it("admits only the configured address ranges, and puts a WAF web ACL on the stage, when asked", () => {
    // Prepare
    const webAclArn = "arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/okta-hook/abc";
    const guarded = synth({
      ...context,
      endpointAllowedCidrs: ["203.0.113.0/24"],
      endpointWebAclArn: webAclArn,
    });

    // Assess
    guarded.template.hasResourceProperties("AWS::ApiGateway::RestApi", {
      Policy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: "Deny",
            Action: "execute-api:Invoke",
            Condition: { NotIpAddress: { "aws:SourceIp": ["203.0.113.0/24"] } },
          }),
        ]),
      },
    });
    guarded.template.hasResourceProperties("AWS::WAFv2::WebACLAssociation", { WebACLArn: webAclArn });
    built.template.resourceCountIs("AWS::WAFv2::WebACLAssociation", 0);
    expect(() => synth({ ...context, endpointAllowedCidrs: ["okta"] })).toThrow(/endpointAllowedCidrs/);
  });

  it("names the API after its stack, so its alarms count this stack's requests only", () => {
    // Prepare
    const { template } = built;
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm")).map((a) => a.Properties);
    // Each of the API's metrics, whether the alarm reads it alone or in an expression.
    const apiMetrics = alarms.flatMap((a) => [
      ...(a.Namespace === "AWS/ApiGateway" ? [a.Dimensions] : []),
      ...((a.Metrics ?? []) as { MetricStat?: { Metric: { Namespace: string; Dimensions: unknown } } }[])
        .filter((m) => m.MetricStat?.Metric.Namespace === "AWS/ApiGateway")
        .map((m) => m.MetricStat?.Metric.Dimensions),
    ]);

    // Assess: the refusals and every request (the hour's alarm, and the day's), and the errors
    const [api] = Object.values(template.findResources("AWS::ApiGateway::RestApi")).map((r) => r.Properties);
    expect(api?.Name).toMatch(/^Test-Sync-OktaEventHook-[0-9A-F]{8}$/);
    expect(apiMetrics).toHaveLength(5);
    for (const dimensions of apiMetrics) expect(dimensions).toEqual([{ Name: "ApiName", Value: api?.Name }]);
  });
});

describe("sources by registry id", () => {
  it("builds the same ingress from sources.okta as from the okta alias", () => {
    // Prepare
    const build = (props: Partial<ConstructorParameters<typeof TallyfyIdpSync>[2]>) => {
      const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Sources");
      new TallyfyIdpSync(stack, "Sync", { syncConfig: {}, tallyfyOrganizationId: "org", ...props });
      const template = Template.fromStack(stack).toJSON();
      return Object.entries(template.Resources as Record<string, { Type: string }>)
        .map(([id, r]) => `${id.replace(/[0-9A-F]{8}$/, "")} ${r.Type}`)
        .sort();
    };

    // Act
    const viaAlias = build({ okta: { eventHook: true, logStreamEventBusName: "aws.partner/okta.com/a/b" } });
    const viaSources = build({
      sources: { okta: { endpoint: true, eventBusName: "aws.partner/okta.com/a/b" } },
    });

    // Assess
    expect(viaSources).toEqual(viaAlias);
    expect(viaSources).toEqual(expect.arrayContaining(["SyncOktaLogStreamRule AWS::Events::Rule"]));
    expect(viaSources.some((r) => r.startsWith("SyncOktaEventHookApi") && r.endsWith("RestApi"))).toBe(true);
  });

  it("refuses a source id the registry does not have, and a bus outside the source's partner prefix", () => {
    // Act
    const attempt = () =>
      new TallyfyIdpSync(
        new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Unknown"),
        "Sync",
        {
          syncConfig: {},
          tallyfyOrganizationId: "org",
          sources: { onelogin: { endpoint: true }, okta: { eventBusName: "default" } },
        },
      );

    // Assess
    expect(attempt).toThrow(/sources\.onelogin: no identity source "onelogin" is registered/);
    expect(attempt).toThrow(/sources\.okta\.eventBusName: must be the okta partner bus/);
  });
});

describe("Okta", () => {
  const methods = () =>
    Object.values(built.template.findResources("AWS::ApiGateway::Method")).map((m) => m.Properties);

  it("answers Okta's verification GET from a mock, echoing the challenge, never reaching the queue", () => {
    // Prepare
    const get = methods().find((m) => m.HttpMethod === "GET");

    // Assess
    expect(get).toMatchObject({
      AuthorizationType: "NONE",
      RequestParameters: { "method.request.header.X-Okta-Verification-Challenge": true },
      Integration: { Type: "MOCK" },
    });
    expect(get?.Integration.IntegrationResponses[0].ResponseTemplates["application/json"]).toBe(
      '{"verification": "$util.escapeJavaScript($input.params(\'X-Okta-Verification-Challenge\'))"}',
    );
  });

  it("requires the API key on POST and sends the body unchanged to the ingest queue", () => {
    // Prepare
    const post = methods().find((m) => m.HttpMethod === "POST");

    // Assess
    expect(post).toMatchObject({
      ApiKeyRequired: true,
      Integration: { Type: "AWS", PassthroughBehavior: "NEVER" },
    });
    expect(JSON.stringify(post?.Integration.Uri)).toContain(":sqs:path/111111111111/");
    expect(post?.Integration.RequestTemplates["application/json"]).toContain(
      "Action=SendMessage&MessageBody=$util.urlEncode($input.body)",
    );
    expect(post?.RequestValidatorId).toBeDefined();
    expect(post?.RequestModels["application/json"]).toBeDefined();
  });

  it("throttles the stage and keeps the API key's value out of the template", () => {
    // Prepare
    const { template } = built;

    // Assess
    template.hasResourceProperties("AWS::ApiGateway::Stage", {
      MethodSettings: [
        Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100, DataTraceEnabled: false }),
      ],
    });
    const keys = Object.values(template.findResources("AWS::ApiGateway::ApiKey"));
    expect(keys).toHaveLength(1);
    expect(keys[0]?.Properties.Value).toBeUndefined();
    template.resourceCountIs("AWS::ApiGateway::UsagePlanKey", 1);
  });

  it("routes Okta Log Streaming's handled, successful events from the partner bus", () => {
    // Assess
    built.template.hasResourceProperties("AWS::Events::Rule", {
      EventBusName: "aws.partner/okta.com/acme/log-stream",
      EventPattern: {
        source: [{ prefix: "aws.partner/okta.com/" }],
        "detail-type": ["SystemLog"],
        detail: {
          eventType: Match.arrayWith(["group.user_membership.add", "user.lifecycle.deactivate"]),
          outcome: { result: ["SUCCESS"] },
        },
      },
    });
  });

  it("gives the ingest function the Okta secret's ARN, not its value, and outputs the webhook URL", () => {
    // Prepare
    const { template } = built;
    const ingest = Object.entries(template.findResources("AWS::Lambda::Function")).find(([id]) =>
      id.includes("IngestFunction"),
    )?.[1];
    const outputs = Object.keys(template.findOutputs("*"));

    // Assess
    expect(ingest?.Properties.Environment.Variables.OKTA_SECRET_ID).toEqual({
      Ref: expect.stringContaining("OktaSecret"),
    });
    for (const name of ["OktaEventHookUrl", "OktaEventHookApiKeyCommand", "OktaSecretArn"])
      expect(outputs.some((o) => o.includes(name))).toBe(true);
  });
});
