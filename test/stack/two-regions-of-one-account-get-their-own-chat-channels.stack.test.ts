/**
 * AWS Chatbot is a global service (its ARNs carry no region), so a configuration name is unique in
 * the account, while a stack name is unique only in its region: the same app deployed as
 * `TallyfyIdpSync` in two regions must ask for two names, or the second deploy fails.
 */
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { parseAppConfig } from "../../lib/app-config.js";
import { TallyfyIdpSyncStack } from "../../lib/stack.js";
import { context } from "./synth.js";

const slack = { workspaceId: "T07EA123LEP", channelId: "C07EZ1ABC23" };

function slackConfigurationName(region: string): string {
  const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
  const stack = new TallyfyIdpSyncStack(app, "TallyfyIdpSync", {
    config: parseAppConfig({ ...context, notifications: { slack } }),
    env: { account: "111111111111", region },
  });
  const [channel] = Object.values(
    Template.fromStack(stack).findResources("AWS::Chatbot::SlackChannelConfiguration"),
  );
  return channel?.Properties.ConfigurationName;
}

describe("the Slack channel configuration of one stack name in two regions of one account", () => {
  it("has a name of its own in each region, as Chatbot's names are unique across the account", () => {
    // Act
    const ireland = slackConfigurationName("eu-west-1");
    const virginia = slackConfigurationName("us-east-1");

    // Assess
    expect(ireland).toBeTypeOf("string");
    expect(ireland).not.toEqual(virginia);
  });
});
