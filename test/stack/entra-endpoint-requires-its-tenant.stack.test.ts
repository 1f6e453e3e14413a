/**
 * The Entra webhook checks that every notification names the configured tenant, so the stack
 * must never build the endpoint without that tenant: synth refuses it.
 */
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { parseAppConfig } from "../../lib/app-config.js";
import { TallyfyIdpSyncStack } from "../../lib/stack.js";

const withoutTenant = {
  tallyfy: { organizationId: "org-123" },
  sync: { memberDomains: ["example.com"], entra: { groups: ["Tallyfy Users"] } },
  alarmEmail: "ops@example.com",
  sources: { entra: { endpoint: true } },
};

describe("the Entra notification endpoint as deployed", () => {
  it("is never built without the tenant it must require of every notification", () => {
    // Prepare
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });

    // Act
    let tenantOfWebhook: unknown;
    let refusal: unknown;
    try {
      const stack = new TallyfyIdpSyncStack(app, "Test", {
        config: parseAppConfig(withoutTenant),
        env: { account: "111111111111", region: "eu-west-1" },
      });
      const functions = Object.values(Template.fromStack(stack).findResources("AWS::Lambda::Function")).map(
        (f) => f.Properties.Environment?.Variables ?? {},
      );
      tenantOfWebhook = functions.find((v) => v.WEBHOOK_SOURCE === "entra")?.ENTRA_TENANT_ID;
    } catch (error) {
      refusal = error;
    }

    // Assess: either synth refuses the configuration, or the webhook knows a tenant to require.
    expect(refusal ?? tenantOfWebhook).toBeDefined();
    if (refusal) expect(String(refusal)).toMatch(/tenantId/);
  });
});
