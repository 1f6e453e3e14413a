/**
 * `notifications` puts the alarms in a Slack or Microsoft Teams channel through AWS Chatbot,
 * subscribed to the alarm topic, with a role that has no permission and a guardrail that denies
 * everything: a channel member can read the alarm, never the directory, the secrets or a queue.
 */
import { Annotations, Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { parseAppConfig } from "../../lib/app-config.js";
import { context, synth } from "./synth.js";

const slack = { workspaceId: "T07EA123LEP", channelId: "C07EZ1ABC23" };
const teams = {
  teamId: "74361522-da01-538d-aa2e-ac7918c6bb92",
  channelId: "19%3a1d1a6fd1ea4b4b9db5a9d6a7c42b3e2c%40thread.tacv2",
  tenantId: "84bd8158-6d4d-4958-8b9f-9d6445542f95",
};
const { alarmEmail: _unused, ...withoutEmail } = context;

describe("alarms in chat", () => {
  it("subscribes the Slack channel to the alarm topic, through a role with no policy and a deny-all guardrail", () => {
    // Act
    const { template, stack } = synth({ ...withoutEmail, notifications: { slack } });

    // Assess
    const topic = Object.keys(template.findResources("AWS::SNS::Topic"))[0];
    const channels = Object.values(template.findResources("AWS::Chatbot::SlackChannelConfiguration"));
    expect(channels).toHaveLength(1);
    const properties = channels[0]?.Properties;
    expect(properties).toMatchObject({
      SlackWorkspaceId: slack.workspaceId,
      SlackChannelId: slack.channelId,
      SnsTopicArns: [{ Ref: topic }],
      UserRoleRequired: false,
    });
    expect(JSON.stringify(properties.GuardrailPolicies)).toContain(":iam::aws:policy/AWSDenyAll");
    const roleId = properties.IamRoleArn["Fn::GetAtt"][0];
    const role = template.toJSON().Resources[roleId];
    expect(role.Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({
      Service: "chatbot.amazonaws.com",
    });
    expect(role.Properties.Policies).toBeUndefined();
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const attached = Object.values(template.findResources("AWS::IAM::Policy")).filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes(roleId),
    );
    expect(attached).toEqual([]);
    // Somebody is told now: no warning that the alarms reach nobody.
    Annotations.fromStack(stack).hasNoWarning("*", Match.stringLikeRegexp("nobody is subscribed"));
  });

  it("subscribes the Microsoft Teams channel to the alarm topic, through the same role", () => {
    // Act
    const { template } = synth({ ...context, notifications: { teams } });

    // Assess
    const topic = Object.keys(template.findResources("AWS::SNS::Topic"))[0];
    const channels = Object.values(
      template.findResources("AWS::Chatbot::MicrosoftTeamsChannelConfiguration"),
    );
    expect(channels).toHaveLength(1);
    expect(channels[0]?.Properties).toMatchObject({
      TeamId: teams.teamId,
      TeamsChannelId: teams.channelId,
      TeamsTenantId: teams.tenantId,
      SnsTopicArns: [{ Ref: topic }],
      GuardrailPolicies: [
        { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":iam::aws:policy/AWSDenyAll"]] },
      ],
    });
    template.resourceCountIs("AWS::Chatbot::SlackChannelConfiguration", 0);
  });

  it("makes no chat channel and no role without notifications", () => {
    // Act
    const { template } = synth(context);

    // Assess
    template.resourceCountIs("AWS::Chatbot::SlackChannelConfiguration", 0);
    template.resourceCountIs("AWS::Chatbot::MicrosoftTeamsChannelConfiguration", 0);
    template.resourcePropertiesCountIs(
      "AWS::IAM::Role",
      {
        AssumeRolePolicyDocument: Match.objectLike({
          Statement: [Match.objectLike({ Principal: { Service: "chatbot.amazonaws.com" } })],
        }),
      },
      0,
    );
  });

  it("refuses a Teams channel id that is not URL-encoded, saying how to write it", () => {
    // Act
    const parse = () =>
      parseAppConfig({
        ...context,
        notifications: { teams: { ...teams, channelId: "19:abc@thread.tacv2" } },
      });

    // Assess
    expect(parse).toThrow(/notifications\.teams\.channelId.*URL-encoded: 19%3a\.\.\.%40thread\.tacv2/);
  });
});
