import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAppConfig } from "../../lib/app-config.js";
import { context, synth } from "./synth.js";

let built: ReturnType<typeof synth>;

beforeAll(() => {
  built = synth();
});

describe("full reconciliation", () => {
  it("starts a run daily, steps the function until done, and keeps reports encrypted, TLS-only and expiring", () => {
    // Prepare
    const { template } = built;

    // Assess
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "rate(1 day)",
      State: "ENABLED",
      Target: Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp("FullSyncStateMachine") } }),
    });
    template.hasResourceProperties("AWS::StepFunctions::StateMachine", {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: "ALL", IncludeExecutionData: false }),
    });
    // The loop: the step, then "done?" back to the step until the run says so.
    const definition = JSON.stringify(
      Object.values(template.findResources("AWS::StepFunctions::StateMachine"))[0]?.Properties
        .DefinitionString,
    );
    expect(definition).toContain('\\"Choices\\":[{\\"Variable\\":\\"$.done\\",\\"BooleanEquals\\":true');
    expect(definition).toContain('\\"Default\\":\\"Step\\"');
    template.hasResourceProperties("AWS::S3::Bucket", {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
      },
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicAcls: true,
        RestrictPublicBuckets: true,
      }),
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ Prefix: "reports/", ExpirationInDays: 90, Status: "Enabled" })],
      },
    });
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      PolicyDocument: Match.objectLike({
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      }),
    });
    const outputs = Object.keys(template.findOutputs("*"));
    expect(outputs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/FullSyncReportBucket/),
        expect.stringMatching(/FullSyncStateMachineArn/),
      ]),
    );
  });

  it("lets the function put reports only, read and write the directory as ingest and the run's scan need, and delete only a settled SCIM group", () => {
    // Prepare
    const { template } = built;
    const policies = Object.entries(template.findResources("AWS::IAM::Policy"))
      .filter(([id]) => id.includes("FullSyncFunction"))
      .flatMap(
        ([, p]) =>
          p.Properties.PolicyDocument.Statement as {
            Action: string | string[];
            Condition?: Record<string, Record<string, unknown>>;
          }[],
      );
    const actions = policies.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    const deletes = policies.filter((s) => [s.Action].flat().some((a) => a.startsWith("dynamodb:Delete")));

    // Assess
    expect(actions.filter((a) => a.startsWith("s3:"))).toEqual(["s3:PutObject"]);
    expect(actions).toEqual(
      expect.arrayContaining(["dynamodb:Scan", "dynamodb:UpdateItem", "sqs:SendMessage"]),
    );
    expect(actions.filter((a) => a === "dynamodb:*")).toEqual([]);
    // A deleted SCIM group's change, once carried out, is settled: the only item it may delete.
    expect(deletes.map((d) => d.Condition?.["ForAllValues:StringLike"]?.["dynamodb:LeadingKeys"])).toEqual([
      ["scim#groups"],
    ]);
  });

  it("gives the function the memory the run's end needs at 100,000 people, and the other functions none of it", () => {
    // Prepare
    const { template } = built;

    // Act
    const memory = Object.entries(template.findResources("AWS::Lambda::Function")).map(([id, fn]) => [
      id.includes("FullSyncFunction") ? "full sync" : "other",
      fn.Properties.MemorySize,
    ]);

    // Assess: with its heap capped at 512 MB that step ran out of memory; at 1,024 MB it held
    // (npm run bench -- --only fullsync); Lambda's heap is half the memory at most here.
    expect(memory.filter(([name]) => name === "full sync")).toEqual([["full sync", 2048]]);
    expect(new Set(memory.filter(([name]) => name === "other").map(([, mb]) => mb))).toEqual(new Set([256]));
  });

  it("refuses a schedule that is not an EventBridge Scheduler expression, and a share over 1", () => {
    // Act
    const error = (() => {
      try {
        parseAppConfig({ ...context, fullSync: { schedule: "daily", maxDepartureShare: 5 } });
      } catch (e) {
        return e as Error;
      }
    })();

    // Assess
    expect(error?.message).toMatch(/fullSync\.schedule: must be an EventBridge Scheduler expression/);
    expect(error?.message).toMatch(/fullSync\.maxDepartureShare: must be over 0 and at most 1/);
  });
});
