/** A stack with every optional feature on: the one the resource-identity test and others synthesize. */
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { parseAppConfig } from "../../lib/app-config.js";
import { TallyfyIdpSyncStack } from "../../lib/stack.js";

const LOG_BUS = "aws.partner/auth0.com/acme-prod-7c2f9e1a-4b3d-4a8e-9f6c-1d2e3f4a5b6c/auth0.logs";
const EVENT_BUS = "aws.partner/auth0.com/acme-prod-7c2f9e1a-4b3d-4a8e-9f6c-1d2e3f4a5b6c/auth0.events";

export const FULL_FEATURED_CONTEXT = {
  tallyfy: { organizationId: "org-123" },
  sync: {
    memberDomains: ["example.com"],
    roles: { admin: ["Admins"] },
    groups: { Engineering: "Engineering" },
    entra: { tenantId: "84bd8158-6d4d-4958-8b9f-9d6445542f95", groups: ["Tallyfy Users"] },
    google: { timezoneField: "Tallyfy.timezone" },
    "identity-center": { identityStoreId: "d-9067a1b2c3" },
  },
  alarmEmail: "ops@example.com",
  notifications: {
    slack: { workspaceId: "T07EA123LEP", channelId: "C07EZ1ABC23" },
    teams: {
      teamId: "74361522-da01-538d-aa2e-ac7918c6bb92",
      channelId: "19%3a1d1a6fd1ea4b4b9db5a9d6a7c42b3e2c%40thread.tacv2",
      tenantId: "84bd8158-6d4d-4958-8b9f-9d6445542f95",
    },
  },
  apiLogging: "create-account-role",
  tracing: true,
  endpointAllowedCidrs: ["203.0.113.0/24"],
  endpointWebAclArn: "arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/tallyfy/1a2b3c4d",
  eventBridge: { eventPattern: { source: ["hr.example"] } },
  okta: { eventHook: true, logStreamEventBusName: "aws.partner/okta.com/acme/log-stream" },
  sources: {
    entra: { endpoint: true },
    google: { endpoint: true },
    auth0: { eventBusNames: { LogStream: LOG_BUS, EventStream: EVENT_BUS } },
    "identity-center": { eventBusNames: { CloudTrail: "default" } },
  },
  fullSync: { enabled: true },
  scim: { enabled: true },
};

export function synthFullFeatured(): Template {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new TallyfyIdpSyncStack(app, "Test", {
    config: parseAppConfig(FULL_FEATURED_CONTEXT),
    env: { account: "111111111111", region: "eu-west-1" },
  });
  return Template.fromStack(stack);
}

/** Every resource's logical id and type, sorted: what a deployed stack knows its resources by. */
export function resourceIdentities(template: Template): string[] {
  const resources = template.toJSON().Resources as Record<string, { Type: string }>;
  return Object.entries(resources)
    .map(([id, resource]) => `${id} ${resource.Type}`)
    .sort();
}
