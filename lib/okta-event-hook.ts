/**
 * `OktaEventHookApi`: the HTTPS endpoint Okta Event Hooks post to. API Gateway alone does the
 * work, with no function behind it, so it answers well within Okta's 3-second limit:
 * - `GET`, Okta's one-time verification: echoes `X-Okta-Verification-Challenge` as
 *   `{"verification": ...}` from a mock integration; nothing reaches the queue.
 * - `POST`: requires the API key Okta sends in the `x-api-key` header (403 otherwise), checks the
 *   body is an event hook body, and sends it unchanged to the ingest queue.
 */
import {
  aws_apigateway as apigateway,
  CfnOutput,
  aws_iam as iam,
  aws_logs as logs,
  RemovalPolicy,
  Stack,
  type aws_sqs as sqs,
  Validations,
} from "aws-cdk-lib";
import { Construct } from "constructs";

export interface OktaEventHookApiProps {
  /** Where accepted bodies go. */
  readonly queue: sqs.IQueue;

  /**
   * Steady requests a second the endpoint accepts before answering 429 (Okta retries once).
   * @default 50
   */
  readonly throttlingRateLimit?: number;

  /**
   * Requests accepted in a burst.
   * @default 100
   */
  readonly throttlingBurstLimit?: number;

  /**
   * Most System Log events one body may carry; a larger body is refused with 400.
   * @default 100
   */
  readonly maxEventsPerBody?: number;

  /**
   * Retention of the access log.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/** Okta event hook bodies must be under this many bytes: the ingest queue's message size limit. */
export const MAX_HOOK_BODY_BYTES = 262_144;

export class OktaEventHookApi extends Construct {
  public readonly api: apigateway.RestApi;
  /** The URL to register in Okta as the event hook's endpoint. */
  public readonly url: string;
  /** Okta sends its value in the `x-api-key` header. The value is generated at deployment, never in the template. */
  public readonly apiKey: apigateway.IApiKey;

  public constructor(scope: Construct, id: string, props: OktaEventHookApiProps) {
    super(scope, id);
    const accessLogs = new logs.LogGroup(this, "AccessLogs", {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigateway.RestApi(this, "Api", {
      description: "Okta Event Hooks -> tallyfy-idp-sync ingest queue",
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.DESTROY,
      deployOptions: {
        stageName: "okta",
        throttlingRateLimit: props.throttlingRateLimit ?? 50,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 100,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        // Bodies carry staff names and emails: never into logs.
        dataTraceEnabled: false,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
      },
    });

    const validator = this.api.addRequestValidator("Validator", {
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    // Setup the one-time verification
    const hook = this.api.root.addResource("hook");
    hook.addMethod(
      "GET",
      new apigateway.MockIntegration({
        requestTemplates: { "application/json": '{"statusCode": 200}' },
        passthroughBehavior: apigateway.PassthroughBehavior.NEVER,
        integrationResponses: [
          {
            statusCode: "200",
            responseTemplates: {
              "application/json":
                '{"verification": "$util.escapeJavaScript($input.params(\'X-Okta-Verification-Challenge\'))"}',
            },
          },
        ],
      }),
      {
        requestParameters: { "method.request.header.X-Okta-Verification-Challenge": true },
        requestValidator: this.api.addRequestValidator("ChallengeRequired", {
          validateRequestParameters: true,
        }),
        methodResponses: [{ statusCode: "200" }],
      },
    );

    // Setup the POST: API key, body shape, straight to SQS
    const role = new iam.Role(this, "SendRole", {
      assumedBy: new iam.ServicePrincipal("apigateway.amazonaws.com"),
      description: "Lets the Okta event hook API send to the ingest queue, and nothing else",
    });
    props.queue.grantSendMessages(role);
    const bodyModel = this.api.addModel("EventHookBody", {
      contentType: "application/json",
      schema: {
        schema: apigateway.JsonSchemaVersion.DRAFT4,
        type: apigateway.JsonSchemaType.OBJECT,
        required: ["eventType", "data"],
        properties: {
          eventType: { type: apigateway.JsonSchemaType.STRING, enum: ["com.okta.event_hook"] },
          data: {
            type: apigateway.JsonSchemaType.OBJECT,
            required: ["events"],
            properties: {
              events: {
                type: apigateway.JsonSchemaType.ARRAY,
                maxItems: props.maxEventsPerBody ?? 100,
                items: { type: apigateway.JsonSchemaType.OBJECT },
              },
            },
          },
        },
      },
    });
    hook.addMethod(
      "POST",
      new apigateway.AwsIntegration({
        service: "sqs",
        path: `${Stack.of(this).account}/${props.queue.queueName}`,
        integrationHttpMethod: "POST",
        options: {
          credentialsRole: role,
          passthroughBehavior: apigateway.PassthroughBehavior.NEVER,
          requestParameters: {
            "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'",
          },
          requestTemplates: { "application/json": POST_TEMPLATE },
          integrationResponses: [
            // Okta wants 200 or 204 and reads nothing from the body.
            {
              statusCode: "204",
              selectionPattern: "2\\d{2}",
              responseTemplates: { "application/json": "## accepted" },
            },
            {
              // The only input SQS sees is the body: a 4xx means it was too large or held invalid characters.
              statusCode: "400",
              selectionPattern: "4\\d{2}",
              responseTemplates: {
                "application/json": `{"message": "body refused by the queue (over ${MAX_HOOK_BODY_BYTES} bytes or invalid characters)"}`,
              },
            },
            {
              statusCode: "500",
              selectionPattern: "5\\d{2}",
              responseTemplates: { "application/json": '{"message": "try again"}' },
            },
          ],
        },
      }),
      {
        apiKeyRequired: true,
        requestModels: { "application/json": bodyModel },
        requestValidator: validator,
        methodResponses: [{ statusCode: "204" }, { statusCode: "400" }, { statusCode: "500" }],
      },
    );

    // Setup the key Okta sends, and its usage plan
    this.apiKey = this.api.addApiKey("OktaKey", {
      description: "Okta event hook: Okta sends this in the x-api-key header",
    });
    const plan = this.api.addUsagePlan("OktaPlan", {
      throttle: {
        rateLimit: props.throttlingRateLimit ?? 50,
        burstLimit: props.throttlingBurstLimit ?? 100,
      },
    });
    plan.addApiKey(this.apiKey);
    plan.addApiStage({ stage: this.api.deploymentStage });
    this.url = this.api.urlForPath("/hook");

    new CfnOutput(this, "Url", {
      value: this.url,
      description: "Register this URL as the Okta event hook endpoint",
    });
    new CfnOutput(this, "ApiKeyCommand", {
      value: `aws apigateway get-api-key --api-key ${this.apiKey.keyId} --include-value --query value --output text`,
      description: "Prints the value to set as the x-api-key header of the Okta event hook",
    });

    this.#acknowledgements();
  }

  /** cdk-nag AwsSolutions findings this design accepts, each with its reason. */
  #acknowledgements(): void {
    Validations.of(this.api).acknowledge(
      {
        id: "AwsSolutions-APIG4",
        reason:
          "Okta event hooks can only send a static header: POST requires the API Gateway API key in it; GET only echoes Okta's verification challenge from a mock and reaches nothing",
      },
      {
        id: "AwsSolutions-COG4",
        reason: "Okta cannot obtain Cognito tokens; POST is authenticated by the API key Okta sends",
      },
      {
        id: "AwsSolutions-APIG3",
        reason:
          "No compute behind the API: API key, throttling, a body-shape model and the queue's size limit bound it; add a WAF web ACL to the stage if your policy requires one",
      },
    );
    const partition =
      "arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs";
    Validations.of(this.api).acknowledge({
      id: `AwsSolutions-IAM4[Policy::${partition}]`,
      reason:
        "API Gateway's account-level role for writing its execution logs to CloudWatch, as AWS documents it",
    });
  }
}

/** SendMessage with the body unchanged; the event hook's own delivery id goes along for tracing. */
const POST_TEMPLATE = [
  "Action=SendMessage",
  "MessageBody=$util.urlEncode($input.body)",
  "MessageAttribute.1.Name=source",
  "MessageAttribute.1.Value.DataType=String",
  "MessageAttribute.1.Value.StringValue=okta-event-hook",
].join("&");
