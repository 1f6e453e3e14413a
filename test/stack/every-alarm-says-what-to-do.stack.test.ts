/**
 * An alarm reaches an on-call by email or in a chat channel, where its description is all they
 * see: each one says what happened and what to do (a log to read, a command to run, a setting to
 * change), as docs/deploy.md's alarm table does.
 */
import { describe, expect, it } from "vitest";
import { synthFullFeatured } from "./full-featured.js";

/** A step an operator can take: the verbs the alarm table's "what to do" column uses. */
const ACTION =
  /\b(read|run|look|check|redrive|raise|lower|approve|reject|set|fix|subscribe|rotate|re-?create|correct|see|renew|find)\b/i;

describe("every alarm of a stack with every feature on", () => {
  it("has a description that says what to do", () => {
    // Prepare
    const alarms = synthFullFeatured().findResources("AWS::CloudWatch::Alarm");

    // Act
    const silent = Object.entries(alarms)
      .filter(([, alarm]) => {
        const text = JSON.stringify(alarm.Properties.AlarmDescription ?? "");
        return text.length < 40 || !ACTION.test(text);
      })
      .map(([id, alarm]) => `${id}: ${JSON.stringify(alarm.Properties.AlarmDescription)}`);

    // Assess
    expect(Object.keys(alarms).length).toBeGreaterThan(30);
    expect(silent).toEqual([]);
  });
});
