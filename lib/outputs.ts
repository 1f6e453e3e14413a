/**
 * The stack's outputs: where to send events, where dead letters wait, which secrets to fill, and
 * what the operator commands (`plan --stack`, `dlq --stack`) read to find the deployment.
 */
import {
  Aws,
  CfnOutput,
  type aws_cloudwatch as cloudwatch,
  type aws_lambda as lambda,
  type aws_secretsmanager as secretsmanager,
  type aws_sns as sns,
  type aws_sqs as sqs,
} from "aws-cdk-lib";
import type { Construct } from "constructs";
import type { DirectoryTable } from "./directory-table.js";
import type { FullSync } from "./full-sync.js";
import { pascal } from "./ingress/endpoint-to-queue.js";
import type { SyncQueues } from "./queues.js";

/** What the outputs name. */
export interface OutputParts {
  readonly queues: SyncQueues;
  readonly directory: DirectoryTable;
  readonly applyFunction: lambda.IFunction;
  readonly eventBridgeDeadLetterQueue?: sqs.IQueue;
  readonly tallyfySecret: secretsmanager.ISecret;
  readonly sourceSecrets: ReadonlyMap<string, secretsmanager.ISecret>;
  readonly fullSync?: FullSync;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarmTopic: sns.ITopic;
}

export function createOutputs(scope: Construct, parts: OutputParts): void {
  const { queues, directory, applyFunction, tallyfySecret, sourceSecrets, fullSync, dashboard } = parts;
  const eventBridgeDeadLetterQueue = parts.eventBridgeDeadLetterQueue;
  const out = (id: string, value: string, description: string) =>
    new CfnOutput(scope, id, { value, description });
  out("IngestQueueUrl", queues.ingest.queueUrl, "Send identity events here");
  out("IngestQueueArn", queues.ingest.queueArn, "The ingest queue's ARN");
  out(
    "IngestDeadLetterQueueUrl",
    queues.ingestDeadLetter.queueUrl,
    "Events that could not be read, with the reason",
  );
  out("IngestDeadLetterQueueArn", queues.ingestDeadLetter.queueArn, "For redrive");
  out("ReconcileQueueUrl", queues.reconcile.queueUrl, "Reconcile messages waiting for Tallyfy");
  out("ReconcileQueueArn", queues.reconcile.queueArn, "The reconcile queue's ARN");
  out(
    "DeparturesQueueUrl",
    queues.departures.queueUrl,
    "The departures lane: reconciles of departures and demotions (npx tallyfy-idp-sync holds approve sends here)",
  );
  out("DirectoryTableName", directory.table.tableName, "The desired-state directory (DynamoDB)");
  out(
    "ApplyFunctionName",
    applyFunction.functionName,
    "Its code package holds the deployed configuration (npx tallyfy-idp-sync plan --stack reads it)",
  );
  out(
    "ReconcileDeadLetterQueueUrl",
    queues.reconcileDeadLetter.queueUrl,
    "Reconciles Tallyfy did not accept, with the reason",
  );
  out("ReconcileDeadLetterQueueArn", queues.reconcileDeadLetter.queueArn, "For redrive");
  if (eventBridgeDeadLetterQueue) {
    out(
      "EventBridgeDeadLetterQueueUrl",
      eventBridgeDeadLetterQueue.queueUrl,
      "Events EventBridge could not deliver to the ingest queue",
    );
  }
  out("TallyfySecretArn", tallyfySecret.secretArn, "Put the Tallyfy credential here");
  out("AlarmTopicArn", parts.alarmTopic.topicArn, "Every alarm notifies this topic: subscribe on-call here");
  for (const [sourceId, secret] of sourceSecrets) {
    out(`${pascal(sourceId)}SecretArn`, secret.secretArn, `Put the ${sourceId} credential here`);
  }
  if (fullSync) {
    out(
      "FullSyncReportBucket",
      fullSync.reportBucket.bucketName,
      "Each full reconciliation's drift report, under reports/<date>/<run id>.json",
    );
    out(
      "FullSyncStateMachineArn",
      fullSync.stateMachine.stateMachineArn,
      "Start a full reconciliation now: aws stepfunctions start-execution --state-machine-arn <this>",
    );
  }
  out(
    "DashboardUrl",
    `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${dashboard.dashboardName}`,
    "The CloudWatch dashboard",
  );
}
