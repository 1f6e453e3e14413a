/**
 * The alarms in chat: AWS Chatbot's Slack and Microsoft Teams channel configurations, subscribed
 * to the alarm topic. Chatbot only relays the alarms: its role has no policy and its guardrail
 * denies everything, so nobody in the channel can read or change anything through it.
 */
import { Aws, aws_chatbot as chatbot, aws_iam as iam, Stack, type aws_sns as sns } from "aws-cdk-lib";
import type { Construct } from "constructs";
import type { NotificationsProps } from "./props.js";

export function chatChannelsFor(
  scope: Construct,
  topic: sns.ITopic,
  notifications: NotificationsProps,
): void {
  const { slack, teams } = notifications;
  if (!slack && !teams) return;
  const role = new iam.Role(scope, "ChatRole", {
    assumedBy: new iam.ServicePrincipal("chatbot.amazonaws.com"),
    description: "AWS Chatbot relays the tallyfy-idp-sync alarms: no permission at all",
  });
  const denyAll = `arn:${Aws.PARTITION}:iam::aws:policy/AWSDenyAll`;
  // Chatbot's configuration names are unique in the account, every region's: the stack's name
  // (unique in its region) and the region keep two stacks apart. At most 128 characters.
  const name = (channel: string) =>
    `${Stack.of(scope).stackName.slice(0, 90)}-${Stack.of(scope).region}-${channel}`;
  if (slack) {
    new chatbot.SlackChannelConfiguration(scope, "SlackAlarms", {
      slackChannelConfigurationName: name("alarms"),
      slackWorkspaceId: slack.workspaceId,
      slackChannelId: slack.channelId,
      notificationTopics: [topic],
      role,
      guardrailPolicies: [iam.ManagedPolicy.fromManagedPolicyArn(scope, "ChatGuardrail", denyAll)],
      userRoleRequired: false,
    });
  }
  if (teams) {
    new chatbot.CfnMicrosoftTeamsChannelConfiguration(scope, "TeamsAlarms", {
      configurationName: name("alarms-teams"),
      iamRoleArn: role.roleArn,
      teamId: teams.teamId,
      teamsChannelId: teams.channelId,
      teamsTenantId: teams.tenantId,
      snsTopicArns: [topic.topicArn],
      guardrailPolicies: [denyAll],
      userRoleRequired: false,
    });
  }
}
