/**
 * `WebhookEndpoint`: an HTTPS endpoint an identity provider calls, backed by a small function (the
 * source's `receive`), for providers API Gateway alone cannot serve: Graph's validation must echo a
 * token as text/plain and its notifications carry the secret in the body; Google's event type and
 * secret arrive in headers. The function compares the secret in constant time, then puts the
 * bodies on the ingest queue stamped with the source; the secret is generated at deployment, so
 * it is in no template.
 */
import {
  aws_apigateway as apigateway,
  CfnOutput,
  aws_cloudwatch as cloudwatch,
  Duration,
  type aws_lambda as lambda,
  RemovalPolicy,
  aws_secretsmanager as secretsmanager,
  type aws_sqs as sqs,
  Validations,
} from "aws-cdk-lib";
import { Construct } from "constructs";
import { METRICS_NAMESPACE, MetricName } from "../../handlers/contracts/metrics.js";
import type { WebhookIngress } from "../../handlers/core/source.js";
import { serviceOf, syncFunction } from "../functions.js";
import { mostlyRefused, QUIET_REFUSALS_THAT_ALARM, refusedAllDay } from "../refusals.js";
import { type EndpointLogging, guardedRestApi, type RestEndpointProps } from "./rest-api.js";

export interface WebhookEndpointProps extends RestEndpointProps {
  /** The source's registry id: the function receives for it alone. */
  readonly sourceId: string;
  /** What the source asks for. */
  readonly webhook: WebhookIngress;
  /** Where accepted bodies go. */
  readonly ingestQueue: sqs.IQueue;
  /**
   * Where lifecycle messages go, for the subscription function.
   * @default - none: lifecycle messages are logged and dropped
   */
  readonly upkeepQueue?: sqs.IQueue;
  /**
   * More of the function's environment: the source's own webhook settings, never a secret.
   * @default {}
   */
  readonly environment?: Record<string, string>;
}

export class WebhookEndpoint extends Construct {
  public readonly api: apigateway.RestApi;
  public readonly function: lambda.Function;
  /** The secret the provider echoes: Graph's `clientState`, Google's channel token. */
  public readonly secret: secretsmanager.Secret;
  /** The URL the provider is told to call. */
  public readonly url: string;
  public readonly logging: EndpointLogging;
  readonly #sourceId: string;
  readonly #webhook: WebhookIngress;

  public constructor(scope: Construct, id: string, props: WebhookEndpointProps) {
    super(scope, id);
    const { webhook, sourceId } = props;
    this.#sourceId = sourceId;
    this.#webhook = webhook;
    this.logging = props.logging ?? "off";

    // Setup the secret: generated at deployment; Graph takes up to 128 characters, Google 256
    this.secret = new secretsmanager.Secret(this, "Secret", {
      description: webhook.secretDescription,
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Setup the function: well inside Graph's and Google's time to answer
    this.function = syncFunction(this, "Function", {
      entry: "webhook.ts",
      timeout: Duration.seconds(10),
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: {
        WEBHOOK_SOURCE: sourceId,
        WEBHOOK_SECRET_ID: this.secret.secretArn,
        INGEST_QUEUE_URL: props.ingestQueue.queueUrl,
        ...(props.upkeepQueue ? { UPKEEP_QUEUE_URL: props.upkeepQueue.queueUrl } : {}),
        ...props.environment,
      },
    });
    this.secret.grantRead(this.function);
    props.ingestQueue.grantSendMessages(this.function);
    props.upkeepQueue?.grantSendMessages(this.function);

    // Setup the API: POST to the path only, to the function
    this.api = guardedRestApi(this, {
      ...props,
      description: webhook.description,
      stageName: webhook.stageName,
      logging: this.logging,
    });
    this.api.root
      .addResource(webhook.path)
      .addMethod(
        "POST",
        new apigateway.LambdaIntegration(this.function, { proxy: true, allowTestInvoke: false }),
      );
    this.url = this.api.urlForPath(`/${webhook.path}`);

    new CfnOutput(this, "Url", {
      value: this.url,
      description: `The ${sourceId} ${webhook.name} URL (the subscription function registers it with the provider)`,
    });
    new CfnOutput(this, "SecretArn", {
      value: this.secret.secretArn,
      description: `Holds the secret ${sourceId} must echo on every call`,
    });
    this.#acknowledgements(props);
  }

  /** Lifecycle messages go to the subscription function's queue (built after this endpoint, which it needs). */
  public useUpkeepQueue(queue: sqs.IQueue): void {
    this.function.addEnvironment("UPKEEP_QUEUE_URL", queue.queueUrl);
    queue.grantSendMessages(this.function);
  }

  /** Requests the function refused (a secret that does not match): someone is forging them. */
  public metricRejected(): cloudwatch.Metric {
    return this.#metric(MetricName.WebhookRejected);
  }

  /** Requests the function accepted: the provider's own. */
  public metricAccepted(): cloudwatch.Metric {
    return this.#metric(MetricName.WebhookAccepted);
  }

  #metric(name: MetricName): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: name,
      dimensionsMap: { service: serviceOf(this), source: this.#sourceId },
      statistic: "Sum",
      period: Duration.minutes(5),
    });
  }

  public alarms(prefix: string) {
    const requests = { refused: this.metricRejected(), accepted: this.metricAccepted() };
    return [
      {
        id: `${prefix}RejectedAlarm`,
        metric: mostlyRefused(`${this.#sourceId} webhook: mostly refused`, requests),
        threshold: 1,
        text: this.#webhook.rejectedText,
      },
      {
        id: `${prefix}RejectedAllDayAlarm`,
        metric: refusedAllDay(`${this.#sourceId} webhook: refused all day`, requests),
        threshold: 1,
        text: `In a day, at least ${QUIET_REFUSALS_THAT_ALARM} requests were refused and none accepted (a quiet tenant's secret changed under live subscriptions): ${this.#webhook.rejectedText}`,
      },
      {
        id: `${prefix}ErrorsAlarm`,
        metric: this.function.metricErrors({ period: Duration.minutes(5), statistic: "Sum" }),
        threshold: 1,
        text: `The ${this.#sourceId} webhook function failed requests (the provider retries them, then drops them): see its log`,
      },
    ];
  }

  #acknowledgements(props: WebhookEndpointProps): void {
    Validations.of(this.api).acknowledge(
      {
        id: "AwsSolutions-APIG4",
        reason:
          "Graph and Google cannot send an API key or authorizer token: the function authenticates every notification by the secret the provider echoes (clientState, X-Goog-Channel-Token), compared in constant time, before anything is queued",
      },
      {
        id: "AwsSolutions-COG4",
        reason:
          "Identity providers' webhooks cannot obtain Cognito tokens; the function checks the echoed secret",
      },
      {
        id: "AwsSolutions-APIG2",
        reason:
          "The function validates every request itself (Graph's validation is a POST with a query string and no body, which a request validator's model would refuse)",
      },
    );
    if (!props.webAclArn) {
      Validations.of(this.api).acknowledge({
        id: "AwsSolutions-APIG3",
        reason:
          "Throttled at the stage, every request authenticated by the function before anything is queued; give endpointWebAclArn for a WAF web ACL if your policy requires one",
      });
    }
    Validations.of(this.secret).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        'The secret is also held by the provider\'s live subscriptions, which a rotation Lambda cannot update: rotate by putting {"token": "<new>", "previousToken": "<old>"} (both accepted) and running the subscription function, which re-creates them with the new one',
    });
    if (props.tracing) {
      Validations.of(this.function.role ?? this.function).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason: "X-Ray's PutTraceSegments and PutTelemetryRecords take no resource: AWS documents them on *",
      });
    }
  }
}
