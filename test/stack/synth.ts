/** The stack most of the template tests synthesize, and how: without bundling, so they stay fast. */
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { parseAppConfig } from "../../lib/app-config.js";
import { TallyfyIdpSyncStack } from "../../lib/stack.js";

export const context = {
  tallyfy: { organizationId: "org-123" },
  sync: {
    memberDomains: ["example.com"],
    roles: { admin: ["Admins"] },
    groups: { Engineering: "Engineering" },
  },
  alarmEmail: "ops@example.com",
  eventBridge: {
    eventBusName: "aws.partner/okta.com/acme/tallyfy",
    eventPattern: { source: [{ prefix: "aws.partner/okta.com" }] },
  },
  okta: { eventHook: true, logStreamEventBusName: "aws.partner/okta.com/acme/log-stream" },
};

export function synth(config: Record<string, unknown> = context, bundle = false) {
  // Skipping bundling keeps these tests fast; one test below bundles for real.
  const app = new App({ context: bundle ? {} : { "aws:cdk:bundling-stacks": [] } });
  const stack = new TallyfyIdpSyncStack(app, "Test", {
    config: parseAppConfig(config),
    env: { account: "111111111111", region: "eu-west-1" },
  });
  return { app, stack, template: Template.fromStack(stack) };
}
