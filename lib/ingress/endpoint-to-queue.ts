/**
 * `EndpointToQueue`: an HTTPS endpoint an identity provider posts to, built from the source's
 * {@link EndpointIngress}. API Gateway alone does the work, with no function behind it, so it
 * answers within any provider's time limit:
 * - `GET` (when the source has a verification): echoes the provider's challenge header from a
 *   mock integration; nothing reaches the queue.
 * - `POST`: requires the API key the provider sends in the `x-api-key` header (403 otherwise),
 *   checks the body against the source's schema, and sends it unchanged to the ingest queue,
 *   stamped with the source's id in the `source` message attribute.
 */
import {
  aws_apigateway as apigateway,
  CfnOutput,
  aws_iam as iam,
  Stack,
  type aws_sqs as sqs,
  Validations,
} from "aws-cdk-lib";
import { Construct } from "constructs";
import { type EndpointIngress, SOURCE_ATTRIBUTE } from "../../handlers/core/source.js";
import { type EndpointLogging, guardedRestApi, type RestEndpointProps } from "./rest-api.js";

export interface EndpointToQueueProps extends RestEndpointProps {
  /** Where accepted bodies go. */
  readonly queue: sqs.IQueue;

  /** The source's id, stamped on every message. */
  readonly sourceId: string;

  /** What the source asks for. */
  readonly endpoint: EndpointIngress;
}

/** Bodies must be under this many bytes: the ingest queue's message size limit. */
export const MAX_ENDPOINT_BODY_BYTES = 262_144;

export class EndpointToQueue extends Construct {
  public readonly api: apigateway.RestApi;
  /** The URL to register with the identity provider. */
  public readonly url: string;
  /** The provider sends its value in the `x-api-key` header. Generated at deployment, never in the template. */
  public readonly apiKey: apigateway.IApiKey;
  /** The stage's CloudWatch logging. */
  public readonly logging: EndpointLogging;

  public constructor(scope: Construct, id: string, props: EndpointToQueueProps) {
    super(scope, id);
    const { endpoint, sourceId } = props;
    this.logging = props.logging ?? "off";
    this.api = guardedRestApi(this, {
      ...props,
      description: endpoint.description,
      stageName: endpoint.stageName,
      logging: this.logging,
    });
    // Logical ids keep the names they had when this construct was Okta's alone, so an update
    // never replaces a deployed key (which the provider would then have to be given again).
    const validator = this.api.addRequestValidator("Validator", {
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const resource = this.api.root.addResource(endpoint.path);

    // Setup the one-time verification
    if (endpoint.verification) {
      const header = endpoint.verification.header;
      resource.addMethod(
        "GET",
        new apigateway.MockIntegration({
          requestTemplates: { "application/json": '{"statusCode": 200}' },
          passthroughBehavior: apigateway.PassthroughBehavior.NEVER,
          integrationResponses: [
            {
              statusCode: "200",
              responseTemplates: { "application/json": endpoint.verification.responseTemplate },
            },
          ],
        }),
        {
          requestParameters: { [`method.request.header.${header}`]: true },
          requestValidator: this.api.addRequestValidator("ChallengeRequired", {
            validateRequestParameters: true,
          }),
          methodResponses: [{ statusCode: "200" }],
        },
      );
    }

    // Setup the POST: API key, body shape, straight to SQS
    const role = new iam.Role(this, "SendRole", {
      assumedBy: new iam.ServicePrincipal("apigateway.amazonaws.com"),
      description: `Lets the ${sourceId} endpoint send to the ingest queue, and nothing else`,
    });
    props.queue.grantSendMessages(role);
    const bodyModel = this.api.addModel(`${endpoint.name}Body`, {
      contentType: "application/json",
      schema: {
        schema: apigateway.JsonSchemaVersion.DRAFT4,
        ...(endpoint.bodySchema as apigateway.JsonSchema),
      },
    });
    resource.addMethod(
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
          requestTemplates: { "application/json": sendTemplate(sourceId) },
          integrationResponses: [
            // Providers want 200 or 204 and read nothing from the body.
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
                "application/json": `{"message": "body refused by the queue (over ${MAX_ENDPOINT_BODY_BYTES} bytes or invalid characters)"}`,
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

    // Setup the key the provider sends, and its usage plan
    this.apiKey = this.api.addApiKey(`${pascal(sourceId)}Key`, {
      description: `${sourceId} ${endpoint.name}: the provider sends this in the x-api-key header`,
    });
    const plan = this.api.addUsagePlan(`${pascal(sourceId)}Plan`, {
      throttle: {
        rateLimit: props.throttlingRateLimit ?? 50,
        burstLimit: props.throttlingBurstLimit ?? 100,
      },
    });
    plan.addApiKey(this.apiKey);
    plan.addApiStage({ stage: this.api.deploymentStage });
    this.url = this.api.urlForPath(`/${endpoint.path}`);

    new CfnOutput(this, "Url", {
      value: this.url,
      description: `Register this URL with ${sourceId} as its ${endpoint.name} endpoint`,
    });
    new CfnOutput(this, "UsagePlanId", {
      value: plan.usagePlanId,
      description: `The usage plan a new ${sourceId} API key must join (README "Security")`,
    });
    new CfnOutput(this, "ApiKeyCommand", {
      value: `aws apigateway get-api-key --api-key ${this.apiKey.keyId} --include-value --query value --output text`,
      description: `Prints the value ${sourceId} must send in the x-api-key header`,
    });

    this.#acknowledgements();
  }

  /** cdk-nag AwsSolutions findings this design accepts, each with its reason. */
  #acknowledgements(): void {
    Validations.of(this.api).acknowledge(
      {
        id: "AwsSolutions-APIG4",
        reason:
          "Identity providers' webhooks can only send a static header: POST requires the API Gateway API key in it; GET only echoes the provider's verification challenge from a mock and reaches nothing",
      },
      {
        id: "AwsSolutions-COG4",
        reason:
          "Identity providers cannot obtain Cognito tokens; POST is authenticated by the API key they send",
      },
      {
        id: "AwsSolutions-APIG3",
        reason:
          "No compute behind the API: API key, throttling, a body-shape model and the queue's size limit bound it; add a WAF web ACL to the stage if your policy requires one",
      },
    );
  }
}

/** SendMessage with the body unchanged, stamped with the source so ingest need not guess it. */
function sendTemplate(sourceId: string): string {
  return [
    "Action=SendMessage",
    "MessageBody=$util.urlEncode($input.body)",
    `MessageAttribute.1.Name=${SOURCE_ATTRIBUTE}`,
    "MessageAttribute.1.Value.DataType=String",
    `MessageAttribute.1.Value.StringValue=${sourceId}`,
  ].join("&");
}

/** `okta` -> `Okta`, for construct ids. */
export function pascal(id: string): string {
  return id.replace(/(^|[-_])([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
}
