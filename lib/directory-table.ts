/**
 * The desired-state directory's table (handlers/directory/directory.ts): a partition and a sort key, on
 * demand, point-in-time recovery, encrypted, and kept when the stack is deleted, because it is
 * the record of who was provisioned from where.
 */
import { aws_cloudwatch as cloudwatch, Duration, aws_dynamodb as dynamodb, RemovalPolicy } from "aws-cdk-lib";
import { Grant, type IGrantable } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";

/**
 * Every key the SCIM store writes starts with this (`SCIM_KEY_PREFIX` in
 * handlers/directory/scim-store.ts, which lib/ cannot import: it loads the DynamoDB SDK).
 */
export const SCIM_KEY_PREFIX = "scim#";

export interface DirectoryTableProps {
  /**
   * What happens to the table when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class DirectoryTable extends Construct {
  public readonly table: dynamodb.Table;

  public constructor(scope: Construct, id: string, props: DirectoryTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, "Table", {
      partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
      sortKey: { name: "sk", type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** Ingest merges events: it reads, puts and updates items, and queries a group's index, nothing else. */
  public grantRecord(grantee: IGrantable): void {
    // Query: a deleted IdP group is fanned out to the people its index names (membersOfIdpGroups).
    this.table.grant(
      grantee,
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:Query",
    );
  }

  /**
   * Apply reads desired state (and queries a group's index) and notes what it reconciled: it never
   * puts or deletes an item. It scans only to count a source's managed people for the departure
   * brake (at most once an hour per source, and only past `maxPerWindow`): it reads every item
   * anyway.
   */
  public grantReconcile(grantee: IGrantable): void {
    this.table.grant(
      grantee,
      "dynamodb:GetItem",
      "dynamodb:BatchGetItem",
      "dynamodb:Query",
      "dynamodb:Scan",
      "dynamodb:UpdateItem",
    );
  }

  /**
   * The full reconciliation records listed people and departures like ingest, keeps its run's
   * state, and scans the people and links to find who a complete listing left out.
   */
  public grantFullSync(grantee: IGrantable): void {
    this.table.grant(
      grantee,
      "dynamodb:GetItem",
      "dynamodb:BatchGetItem",
      "dynamodb:Query",
      "dynamodb:Scan",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
    );
  }

  /**
   * The SCIM endpoint keeps its Users and Groups beside the desired state, under keys of their
   * own: it may read and write those items and no other, so it can never touch a person's
   * desired state. ForAllValues is vacuously true of a request naming no partition key (a Scan):
   * none of these actions can be made without one, and Scan is not granted.
   */
  public grantScim(grantee: IGrantable): void {
    Grant.addToPrincipal({
      grantee,
      actions: [
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
      ],
      resourceArns: [this.table.tableArn],
      conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${SCIM_KEY_PREFIX}*`] } },
    });
  }

  /**
   * Requests DynamoDB throttled, summed over the operations the functions use. DynamoDB publishes
   * the metric only for an operation that was throttled, so each term is filled with 0: one
   * throttled operation is enough to fire.
   */
  public metricThrottled(): cloudwatch.IMetric {
    const operations = ["GetItem", "PutItem", "UpdateItem", "BatchGetItem", "Query"];
    const usingMetrics = Object.fromEntries(
      operations.map((operation) => [
        operation.toLowerCase(),
        this.table.metric("ThrottledRequests", {
          dimensionsMap: { TableName: this.table.tableName, Operation: operation },
          statistic: "Sum",
          period: Duration.minutes(5),
        }),
      ]),
    );
    return new cloudwatch.MathExpression({
      expression: operations.map((operation) => `FILL(${operation.toLowerCase()}, 0)`).join(" + "),
      usingMetrics,
      label: "Throttled requests, all operations",
      period: Duration.minutes(5),
    });
  }
}
