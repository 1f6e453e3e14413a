/**
 * What every REST API of the stack shares, whatever is behind it: a regional API named after its
 * stack, a throttled stage, CloudWatch logging as the `EndpointLogging` mode allows, an optional
 * address allow-list and WAF web ACL. A function, not a construct: it builds its resources in the
 * caller's scope, so the webhook endpoints keep the logical ids they were deployed with.
 */
import {
  aws_apigateway as apigateway,
  aws_iam as iam,
  aws_logs as logs,
  Names,
  RemovalPolicy,
  Stack,
  Validations,
  aws_wafv2 as wafv2,
} from "aws-cdk-lib";
import { Construct } from "constructs";

/**
 * A stage's CloudWatch logging. API Gateway writes logs (access and execution alike) only through
 * one role set for the whole region (`AWS::ApiGateway::Account`), which this stack does not take
 * over unless told:
 * - `"off"`: no access or execution logs; the stage's metrics and alarms remain;
 * - `"account-role-exists"`: the region already has the role; access and execution logs, in log
 *   groups this stack creates and deletes;
 * - `"create-account-role"`: as above, and set the region's role (replacing any other stack's,
 *   and left in place when this stack is deleted, so other APIs keep logging).
 */
export type EndpointLogging = "off" | "account-role-exists" | "create-account-role";

/** What every public endpoint of the stack takes: its stage's limits, its logging, and who may call it. */
export interface RestEndpointProps {
  /**
   * Steady requests a second the stage accepts before answering 429.
   * @default 50 (the SCIM endpoint: 25, for Entra ID and Okta at once with headroom)
   */
  readonly throttlingRateLimit?: number;
  /**
   * Requests accepted in a burst.
   * @default 100 (the SCIM endpoint: 50)
   */
  readonly throttlingBurstLimit?: number;
  /**
   * Retention of the stage's access and execution logs, and of the function's where it has one.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The stage's CloudWatch logging (see {@link EndpointLogging}: access and execution logs need a
   * region-wide role this stack sets only with `"create-account-role"`).
   * @default "off"
   */
  readonly logging?: EndpointLogging;
  /**
   * Only these source address ranges (CIDR) may call the endpoint, enforced by a resource policy,
   * e.g. the identity provider's published egress ranges. Its credential is still required.
   * @default - any address (the credential alone guards it)
   */
  readonly allowedSourceCidrs?: readonly string[];
  /**
   * A WAF web ACL (regional, its ARN) to associate with the stage, e.g. with rate-based rules.
   * @default - none
   */
  readonly webAclArn?: string;
  /**
   * X-Ray active tracing of the stage, and of the endpoint's function where it has one (Lambda's
   * own segments; no tracing SDK is bundled).
   * @default false
   */
  readonly tracing?: boolean;
}

export interface GuardedRestApiOptions extends RestEndpointProps {
  readonly description: string;
  readonly stageName: string;
}

/** Builds the API in `scope` as `Api`, with `AccessLogs`, `ExecutionLogs` and `WebAcl` beside it. */
export function guardedRestApi(scope: Construct, options: GuardedRestApiOptions): apigateway.RestApi {
  const logging = options.logging ?? "off";
  const cidrs = options.allowedSourceCidrs ?? [];
  const retention = options.logRetention ?? logs.RetentionDays.ONE_MONTH;
  const accessLogs =
    logging === "off"
      ? undefined
      : new logs.LogGroup(scope, "AccessLogs", { retention, removalPolicy: RemovalPolicy.DESTROY });
  const api = new apigateway.RestApi(scope, "Api", {
    // Unique per stack: the API's alarms use the ApiName dimension.
    restApiName: uniqueName(scope),
    description: options.description,
    endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
    ...(cidrs.length > 0 ? { policy: sourceIpPolicy(cidrs) } : {}),
    // The region's role is set once for the stack (`regionLoggingRole`), never by each API.
    cloudWatchRole: false,
    deployOptions: {
      stageName: options.stageName,
      throttlingRateLimit: options.throttlingRateLimit ?? 50,
      throttlingBurstLimit: options.throttlingBurstLimit ?? 100,
      ...(accessLogs
        ? {
            loggingLevel: apigateway.MethodLoggingLevel.ERROR,
            accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
            accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
          }
        : {}),
      // Bodies carry staff names and emails: never into logs.
      dataTraceEnabled: false,
      tracingEnabled: options.tracing ?? false,
    },
  });
  // CloudFormation refuses a logging stage until the region has its role.
  if (logging === "create-account-role") api.deploymentStage.node.addDependency(regionLoggingRole(scope));
  if (accessLogs) {
    // The group API Gateway writes execution logs to, created here (before the stage starts
    // writing) so it expires and goes with the stack.
    const executionLogs = new logs.LogGroup(scope, "ExecutionLogs", {
      logGroupName: `API-Gateway-Execution-Logs_${api.restApiId}/${options.stageName}`,
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    api.deploymentStage.node.addDependency(executionLogs);
  }
  if (options.webAclArn) {
    new wafv2.CfnWebACLAssociation(scope, "WebAcl", {
      resourceArn: api.deploymentStage.stageArn,
      webAclArn: options.webAclArn,
    });
  }
  acknowledgeLogging(api, logging);
  return api;
}

/**
 * The region's API Gateway logging role (`AWS::ApiGateway::Account`), made once for the stack
 * however many of its APIs log: several would be parallel writers of one region-wide setting,
 * each with a role of its own. Kept when the stack is deleted, so the region's other APIs keep
 * logging.
 */
export function regionLoggingRole(scope: Construct): apigateway.CfnAccount {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(REGION_LOGGING_ID);
  if (existing) return existing.node.defaultChild as apigateway.CfnAccount;
  const holder = new Construct(stack, REGION_LOGGING_ID);
  const role = new iam.Role(holder, "Role", {
    assumedBy: new iam.ServicePrincipal("apigateway.amazonaws.com"),
    managedPolicies: [
      iam.ManagedPolicy.fromAwsManagedPolicyName("service-role/AmazonAPIGatewayPushToCloudWatchLogs"),
    ],
  });
  role.applyRemovalPolicy(RemovalPolicy.RETAIN);
  const account = new apigateway.CfnAccount(holder, "Resource", { cloudWatchRoleArn: role.roleArn });
  account.applyRemovalPolicy(RemovalPolicy.RETAIN);
  account.node.addDependency(role);
  Validations.of(role).acknowledge({
    id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
    reason:
      "API Gateway's account-level role for writing its execution logs to CloudWatch, as AWS documents it",
  });
  return account;
}

const REGION_LOGGING_ID = "ApiGatewayLoggingRole";

/** cdk-nag AwsSolutions findings that follow from the logging mode, each with its reason. */
function acknowledgeLogging(api: apigateway.RestApi, logging: EndpointLogging): void {
  if (logging === "off") {
    const reason =
      "API Gateway logs only through a region-wide role this stack does not take over by default (apiLogging turns logs on); every request is still counted in the stage's metrics, and 4xx and 5xx alarm";
    Validations.of(api).acknowledge(
      { id: "AwsSolutions-APIG1", reason },
      { id: "AwsSolutions-APIG6", reason },
    );
  }
}

/** The stack and the construct's path: unique even with two copies of the construct in one stack. */
export function uniqueName(scope: Construct): string {
  return Names.uniqueResourceName(scope, { maxLength: 64, separator: "-" });
}

/** Anyone may invoke, but only from these ranges: a Deny outside them wins over the Allow. */
function sourceIpPolicy(cidrs: readonly string[]): iam.PolicyDocument {
  const invoke = {
    actions: ["execute-api:Invoke"],
    resources: ["execute-api:/*"],
    principals: [new iam.AnyPrincipal()],
  };
  return new iam.PolicyDocument({
    statements: [
      new iam.PolicyStatement({ ...invoke, effect: iam.Effect.ALLOW }),
      new iam.PolicyStatement({
        ...invoke,
        effect: iam.Effect.DENY,
        conditions: { NotIpAddress: { "aws:SourceIp": [...cidrs] } },
      }),
    ],
  });
}
