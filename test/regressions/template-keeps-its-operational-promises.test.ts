/**
 * The template keeps its operational promises: no credential in an environment, log groups before
 * stages, alarms that fire, outputs the rotation needs, two constructs in one stack.
 */
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { parseAppConfig } from "../../lib/app-config.js";
import { TallyfyIdpSyncStack } from "../../lib/stack.js";
import { TallyfyIdpSync } from "../../lib/tallyfy-idp-sync.js";

const context = {
  tallyfy: { organizationId: "org-123" },
  sync: {
    memberDomains: ["example.com"],
    roles: { admin: ["Admins"] },
    groups: { Engineering: "Engineering" },
  },
  alarmEmail: "ops@example.com",
  okta: { eventHook: true, logStreamEventBusName: "aws.partner/okta.com/acme/log-stream" },
};

function synth(config: Record<string, unknown> = context) {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new TallyfyIdpSyncStack(app, "Test", {
    config: parseAppConfig(config),
    env: { account: "111111111111", region: "eu-west-1" },
  });
  return { app, stack, template: Template.fromStack(stack) };
}

describe("claim 12: tallyfy.apiUrl with a user or password is refused at synth", () => {
  // Each of these is parsed by WHATWG URL (what fetch and z.url use) as https://u:p@go.tallyfy.com/api.
  it.each([
    "https:u:p@go.tallyfy.com/api",
    "https:\\\\u:p@go.tallyfy.com/api",
    "https:///u:p@go.tallyfy.com/api",
  ])("refuses %s, whose URL carries credentials", (apiUrl) => {
    // Prepare
    expect(new URL(apiUrl).username).toBe("u");
    expect(new URL(apiUrl).password).toBe("p");

    // Act
    const attempt = () => synth({ ...context, tallyfy: { organizationId: "org-123", apiUrl } });

    // Assess
    expect(attempt).toThrow(/must not contain a user name or password/);
  });
  it("keeps a credential-bearing apiUrl out of the apply function's environment", () => {
    // Act
    const built = (() => {
      try {
        return synth({
          ...context,
          tallyfy: { organizationId: "org-123", apiUrl: "https:u:p@go.tallyfy.com/api" },
        });
      } catch {
        return undefined;
      }
    })();

    // Assess
    // Either synth refuses it, or the template must not carry the password in plain text.
    expect(JSON.stringify(built?.template.toJSON() ?? {})).not.toContain("u:p@go.tallyfy.com");
  });
});

describe("claim 8: API Gateway execution logs go to a log group the stack manages", () => {
  it("creates the execution log group before the stage that starts writing to it", () => {
    // Prepare
    const { template } = synth({ ...context, apiLogging: "account-role-exists" });
    const [groupId] = Object.keys(template.findResources("AWS::Logs::LogGroup")).filter((id) =>
      id.includes("ExecutionLogs"),
    );
    const [stage] = Object.values(template.findResources("AWS::ApiGateway::Stage"));

    // Assess
    // Without the dependency CloudFormation may create the stage first; API Gateway then creates
    // API-Gateway-Execution-Logs_<id>/<stage> itself and the LogGroup fails "already exists".
    expect(groupId).toBeDefined();
    expect([stage?.DependsOn ?? []].flat()).toContain(groupId);
  });
});

describe("DirectoryThrottled alarm", () => {
  it("sums the operations with missing periods as 0, so one throttled operation is enough to fire", () => {
    // Prepare
    const { template } = synth();
    const alarm = Object.entries(template.findResources("AWS::CloudWatch::Alarm")).find(([id]) =>
      id.includes("DirectoryThrottled"),
    )?.[1];
    const expression = ((alarm?.Properties.Metrics ?? []) as { Expression?: string }[]).find(
      (m) => m.Expression,
    )?.Expression;

    // Assess
    // DynamoDB publishes ThrottledRequests only for an operation that was throttled; a plain
    // "a + b + c + d + e" has no value in a period where any term is missing (notBreaching).
    for (const id of ["getitem", "putitem", "updateitem", "batchgetitem", "query"])
      expect(expression).toContain(`FILL(${id}`);
  });
});

describe('README "Security": rotating the webhook\'s API key', () => {
  it("outputs the usage plan id the rotation commands need", () => {
    // Prepare
    const { template } = synth();
    const outputs = template.findOutputs("*");

    // Assess
    // README: `aws apigateway create-usage-plan-key --usage-plan-id <plan id> ...`; no output or
    // other documented command gives that id.
    expect(JSON.stringify(outputs)).toMatch(/UsagePlan|OktaPlan/);
  });
});

describe('the construct in your own CDK app (README "In your own CDK app")', () => {
  it("can be used twice in one stack without colliding names (dashboard, bus, API name for alarms)", () => {
    // Prepare
    const stack = new Stack(new App({ context: { "aws:cdk:bundling-stacks": [] } }), "Shared");
    for (const id of ["OrgA", "OrgB"]) {
      new TallyfyIdpSync(stack, id, {
        syncConfig: { memberDomains: ["example.com"] },
        tallyfyOrganizationId: "org",
        okta: { eventHook: true },
        eventBridge: { eventPattern: { source: ["hr.feed"] } },
      });
    }
    const template = Template.fromStack(stack);
    const names = (type: string, key: string) =>
      Object.values(template.findResources(type)).map((r) => r.Properties[key]);

    // Assess
    // Same DashboardName / bus Name: the second create fails; same RestApi Name: each stack's
    // OktaHookRejected/OktaHookErrors alarms (ApiName dimension) count the other's requests too.
    for (const [type, key] of [
      ["AWS::CloudWatch::Dashboard", "DashboardName"],
      ["AWS::Events::EventBus", "Name"],
      ["AWS::ApiGateway::RestApi", "Name"],
    ] as const) {
      const values = names(type, key);
      expect(new Set(values).size, `${type} ${values.join(", ")}`).toBe(values.length);
    }
  });
});
