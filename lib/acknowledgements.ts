/**
 * The cdk-nag AwsSolutions findings this design accepts, each acknowledged where it arises with
 * the reason it is accepted.
 */
import {
  type aws_lambda as lambda,
  aws_secretsmanager as secretsmanager,
  type aws_sqs as sqs,
  Validations,
} from "aws-cdk-lib";
import type { FullSync } from "./full-sync.js";
import type { EnabledSource } from "./pipeline.js";
import type { TallyfyIdpSyncProps } from "./props.js";

/** The parts whose findings are acknowledged here. */
export interface AcknowledgedParts {
  readonly tallyfySecret: secretsmanager.ISecret;
  readonly ingestFunction: lambda.Function;
  readonly applyFunction: lambda.Function;
  readonly departuresFunction: lambda.Function;
  readonly fullSync?: FullSync;
  readonly eventBridgeDeadLetterQueue?: sqs.IQueue;
  readonly schedulesDeadLetterQueue: sqs.IQueue;
}

/** cdk-nag AwsSolutions findings this design accepts, each with its reason. */
export function acknowledge(
  parts: AcknowledgedParts,
  enabled: readonly EnabledSource[],
  props: TallyfyIdpSyncProps,
): void {
  const {
    tallyfySecret,
    ingestFunction,
    applyFunction,
    departuresFunction,
    fullSync,
    eventBridgeDeadLetterQueue,
  } = parts;
  if (tallyfySecret instanceof secretsmanager.Secret) {
    Validations.of(tallyfySecret).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "A Tallyfy personal access token or client secret is issued by Tallyfy and cannot be rotated by a Lambda; rotate it in Tallyfy and update the secret",
    });
  }
  if (props.tracing) {
    const functions = [
      ingestFunction,
      applyFunction,
      departuresFunction,
      ...(fullSync ? [fullSync.function] : []),
    ];
    for (const fn of functions) {
      Validations.of(fn.role ?? fn).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason: "X-Ray's PutTraceSegments and PutTelemetryRecords take no resource: AWS documents them on *",
      });
    }
  }
  Validations.of(parts.schedulesDeadLetterQueue).acknowledge({
    id: "AwsSolutions-SQS3",
    reason:
      "It is the dead-letter queue of the EventBridge Scheduler schedules' targets (cdk-nag sees only SQS redrive policies); an alarm fires on its first message",
  });
  if (eventBridgeDeadLetterQueue) {
    Validations.of(eventBridgeDeadLetterQueue).acknowledge({
      id: "AwsSolutions-SQS3",
      reason:
        "It is the dead-letter queue of the EventBridge rules' targets (cdk-nag sees only SQS redrive policies); an alarm fires on its first message",
    });
  }
  for (const { source } of enabled) {
    const api = source.deployment?.awsApi;
    for (const resource of api?.wildcardReason ? api.resources.filter((r) => r.includes("*")) : []) {
      // cdk-nag names each wildcard resource, with the partition and account as it prints tokens.
      const shown = resource
        .replaceAll("{partition}", "<AWS::Partition>")
        .replaceAll("{account}", "<AWS::AccountId>");
      Validations.of(ingestFunction.role ?? ingestFunction).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${shown}]`,
        reason: api?.wildcardReason ?? "",
      });
    }
  }
  for (const { source, secret } of enabled) {
    const rotation = source.deployment?.secret?.rotation;
    if (rotation && secret instanceof secretsmanager.Secret) {
      Validations.of(secret).acknowledge({ id: "AwsSolutions-SMG4", reason: rotation });
    }
  }
}
