/**
 * Every alarm has somewhere to go: the stack always makes the alarm topic (its ARN an output),
 * subscribes `alarmEmail` when given, and warns at synth when nobody is subscribed, instead of
 * leaving every alarm without an action.
 */
import { Annotations, Match } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { context, synth } from "./synth.js";

const { alarmEmail: _unused, ...withoutEmail } = context;

describe("the alarm topic", () => {
  it("is made without alarmEmail, every alarm notifies it, its ARN is an output, and synth warns that nobody is subscribed", () => {
    // Act
    const { stack, template } = synth(withoutEmail);

    // Assess
    template.resourceCountIs("AWS::SNS::Topic", 1);
    template.resourceCountIs("AWS::SNS::Subscription", 0);
    const topic = Object.keys(template.findResources("AWS::SNS::Topic"))[0];
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm"));
    expect(alarms.length).toBeGreaterThan(10);
    expect(
      alarms.filter((a) => JSON.stringify(a.Properties.AlarmActions) !== JSON.stringify([{ Ref: topic }])),
    ).toEqual([]);
    const outputs = template.findOutputs("*");
    expect(Object.entries(outputs).find(([id]) => id.includes("AlarmTopicArn"))?.[1]?.Value).toEqual({
      Ref: topic,
    });
    Annotations.fromStack(stack).hasWarning("*", Match.stringLikeRegexp("nobody is subscribed.*alarmEmail"));
  });

  it("subscribes alarmEmail, and then synth has no such warning", () => {
    // Act
    const { stack, template } = synth(context);

    // Assess
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "ops@example.com",
    });
    Annotations.fromStack(stack).hasNoWarning("*", Match.stringLikeRegexp("nobody is subscribed"));
  });
});
