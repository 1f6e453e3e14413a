/**
 * The desired-state directory's table (handlers/directory/directory.ts): a partition and a sort key, on
 * demand, point-in-time recovery, encrypted, and kept when the stack is deleted, because it is
 * the record of who was provisioned from where.
 */
import { aws_cloudwatch as cloudwatch, Duration, aws_dynamodb as dynamodb, RemovalPolicy } from "aws-cdk-lib";
import { Grant, type IGrantable } from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import {
  DELTA_STATE_NAME,
  DIRECTORY_KEYS,
  type DirectoryKeyKind,
  SCIM_PARTITIONS,
} from "../handlers/contracts/directory-keys.js";

/** The partition keys of the item kinds named, as `dynamodb:LeadingKeys` patterns. */
function keysOf(...kinds: DirectoryKeyKind[]): string[] {
  return kinds.map((kind) => `${DIRECTORY_KEYS[kind]}*`);
}

/** The actions that read items by key, and those that write them. */
const READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"];

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

  /**
   * Ingest merges events into people, their links, the IdP groups' index and the groups'
   * revisions, and keeps Graph's delta links: it may read and write those items and no other (no
   * SCIM item, no subscription, no hold or brake). Query and BatchGetItem: a deleted IdP group is
   * fanned out to the people its index names (membersOfIdpGroups).
   */
  public grantRecord(grantee: IGrantable): void {
    this.#grantOn(
      grantee,
      [...READ, "dynamodb:PutItem", "dynamodb:UpdateItem"],
      [
        ...keysOf("person", "link", "idpGroup", "group"),
        `${DIRECTORY_KEYS.sourceState}*#${DELTA_STATE_NAME}*`,
      ],
    );
  }

  /**
   * Apply reads desired state and notes what it reconciled, leases people, books Tallyfy's shared
   * schedule and keeps the departure brake and its holds: it updates those items, never puts or
   * deletes one, and never touches a link. It scans only to count a source's managed people for
   * the brake (at most once an hour per source, and only past `maxPerWindow`), and only as a count.
   */
  public grantReconcile(grantee: IGrantable): void {
    this.#grantOn(
      grantee,
      [...READ, "dynamodb:UpdateItem"],
      keysOf("person", "idpGroup", "group", "lease", "brake", "holds", "schedule"),
    );
    // The brake's count: a Scan names no partition key, so only `Select: COUNT` keeps it from
    // returning every item of the table (SCIM users and every source's state included).
    Grant.addToPrincipal({
      grantee,
      actions: ["dynamodb:Scan"],
      resourceArns: [this.table.tableArn],
      conditions: { StringEquals: { "dynamodb:Select": "COUNT" } },
    });
  }

  /**
   * The full reconciliation records listed people and departures like ingest, keeps its run's
   * state, and scans the people and links to find who a complete listing left out. It lists the
   * SCIM endpoint's Users and Groups as a source, and carries out a group change the endpoint
   * stored but never queued: it notes the change's memberships and settles the group, and writes
   * no other SCIM item.
   */
  public grantFullSync(grantee: IGrantable): void {
    this.#grantOn(
      grantee,
      [...READ, "dynamodb:Scan", "dynamodb:PutItem", "dynamodb:UpdateItem"],
      keysOf("person", "link", "idpGroup", "group", "fullSync"),
    );
    this.#grantOn(grantee, READ, keysOf("scim"));
    this.#grantOn(grantee, ["dynamodb:PutItem"], [`${SCIM_PARTITIONS.memberships}*`]);
    this.#grantOn(grantee, ["dynamodb:UpdateItem", "dynamodb:DeleteItem"], [SCIM_PARTITIONS.groups]);
  }

  /**
   * The SCIM endpoint keeps its Users and Groups beside the desired state, under keys of their
   * own: it may read and write those items and no other, so it can never touch a person's
   * desired state. Scan is not granted.
   */
  public grantScim(grantee: IGrantable): void {
    this.#grantOn(
      grantee,
      [...READ, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
      keysOf("scim"),
    );
  }

  /**
   * `actions` on the items whose partition key matches one of `leadingKeys`. `ForAllValues` is
   * vacuously true of a request naming no partition key: of the actions granted, only a Scan.
   */
  #grantOn(grantee: IGrantable, actions: string[], leadingKeys: string[]): void {
    Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.table.tableArn],
      conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": leadingKeys } },
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
