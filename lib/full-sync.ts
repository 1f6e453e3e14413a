/**
 * The full reconciliation (README "Operations"): on a schedule, a state machine invokes the
 * full-sync function step by step (each step lists a few pages and saves its cursor) until the
 * run says it is done; the run's drift report goes to an encrypted bucket of its own.
 */
import {
  type CfnElement,
  aws_cloudwatch as cloudwatch,
  Duration,
  aws_iam as iam,
  type aws_lambda as lambda,
  aws_logs as logs,
  RemovalPolicy,
  Stack,
  aws_s3 as s3,
  aws_scheduler as scheduler,
  aws_scheduler_targets as schedulerTargets,
  aws_stepfunctions as sfn,
  type aws_sqs as sqs,
  aws_stepfunctions_tasks as tasks,
  Validations,
} from "aws-cdk-lib";
import { Construct } from "constructs";
import {
  FULL_SYNC_MEMORY_MB,
  FULL_SYNC_STALE_AFTER_MS,
  FULL_SYNC_STEP_TIMEOUT_MS,
  FullSyncMetric,
} from "../handlers/contracts/full-sync.js";
import { METRICS_NAMESPACE } from "../handlers/contracts/metrics.js";
import { serviceOf, syncFunction } from "./functions.js";
import type { AlarmSpec } from "./operations.js";
import { type Pipeline, tallyfyVariables } from "./pipeline.js";
import type { Settings, TallyfyIdpSyncProps } from "./props.js";
import { budgetShare } from "./rate-budget.js";
import { schedulerPrincipal } from "./schedules.js";

export interface FullSyncProps {
  /** The function's environment: queue, table, Tallyfy and source secrets by id, never a secret. */
  readonly environment: Record<string, string>;
  /** The sync configuration (JSON), bundled with the function. */
  readonly syncConfig: string;
  /** Where the schedule puts a start it could not make (the stack's schedules share one queue). */
  readonly scheduleDeadLetterQueue: sqs.IQueue;
  /**
   * When a run starts: an EventBridge Scheduler expression.
   * @default "rate(1 day)"
   */
  readonly schedule?: string;
  /**
   * Days a drift report is kept in the bucket.
   * @default 90
   */
  readonly reportRetentionDays?: number;
  /**
   * Alarm when one run corrects at least this many people and groups.
   * @default 25
   */
  readonly driftAlarmThreshold?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default false */
  readonly tracing?: boolean;
}

const DEFAULT_SCHEDULE = "rate(1 day)";

/**
 * Time a run may take on top of its schedule's interval before the silence alarm fires: as long
 * as the state machine lets a run last, so two successful runs, the second slower, never page.
 */
const SILENCE_SLACK_HOURS = Math.ceil(FULL_SYNC_STALE_AFTER_MS / 3_600_000);

/** EventBridge Scheduler's days of the week, 1 to 7 from Sunday. */
const WEEKDAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/** CloudWatch evaluates an alarm of hourly periods over seven days at most. */
const MAX_SILENCE_HOURS = 7 * 24;

/**
 * Hours without a successful run after which the silence alarm fires: the schedule's interval
 * plus a run's time. A `rate(...)` says its interval; a `cron(...)` on every day of the month runs
 * on each day of the week it names, so its interval is the longest gap between them (72 hours for
 * MON-FRI); anything rarer than weekly (or an `at(...)`, which runs once) cannot be watched by one
 * alarm, and has none.
 */
export function silenceWindowHours(expression: string): number | undefined {
  const rate = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expression.trim());
  const cron = /^cron\((.+)\)$/.exec(expression.trim());
  let interval: number | undefined;
  if (rate)
    interval = Number(rate[1]) * { minute: 1 / 60, hour: 1, day: 24 }[rate[2] as "minute" | "hour" | "day"];
  else if (cron) {
    const [, , dayOfMonth, , dayOfWeek] = (cron[1] ?? "").split(/\s+/);
    const days = dayOfMonth === "*" || dayOfMonth === "?" ? weekdaysOf(dayOfWeek ?? "*") : undefined;
    if (days && days.length > 0) {
      const gaps = days.map((day, i) => ((days[(i + 1) % days.length] ?? day) - day + 7) % 7 || 7);
      interval = 24 * Math.max(...gaps);
    }
  }
  if (interval === undefined) return undefined;
  const hours = Math.ceil(interval) + SILENCE_SLACK_HOURS;
  return hours <= MAX_SILENCE_HOURS ? hours : undefined;
}

/** The days of the week (0 to 6 from Sunday) a cron's day-of-week field names, sorted; undefined when unread. */
function weekdaysOf(field: string): number[] | undefined {
  if (field === "*" || field === "?") return [0, 1, 2, 3, 4, 5, 6];
  const day = (token: string) => {
    const index = /^\d$/.test(token) ? Number(token) - 1 : WEEKDAYS.indexOf(token.toUpperCase());
    return index >= 0 && index < 7 ? index : undefined;
  };
  const days = new Set<number>();
  for (const part of field.split(",")) {
    const [from, to, ...rest] = part.split("-").map(day);
    if (from === undefined || rest.length > 0 || (part.includes("-") && to === undefined)) return undefined;
    for (let d = from; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === (to ?? from)) break;
    }
  }
  return [...days].sort((a, b) => a - b);
}

/**
 * The users a listing page holds so that reading it (a request for the page, and
 * `requestsPerUser` for each user) takes at most half a step at `perMinute`.
 */
export function listingPageSize(
  page: { readonly requestsPerUser: number; readonly maxSize: number },
  perMinute: number,
): number {
  const requests = ((FULL_SYNC_STEP_TIMEOUT_MS / 2) * perMinute) / 60_000;
  return Math.max(1, Math.min(page.maxSize, Math.floor((requests - 1) / page.requestsPerUser)));
}

export class FullSync extends Construct {
  public readonly function: lambda.IFunction;
  public readonly stateMachine: sfn.StateMachine;
  public readonly reportBucket: s3.Bucket;
  public readonly schedule: scheduler.Schedule;
  readonly #props: FullSyncProps;

  public constructor(scope: Construct, id: string, props: FullSyncProps) {
    super(scope, id);
    this.#props = props;
    this.reportBucket = new s3.Bucket(this, "Reports", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // A report overwritten or deleted (by hand, or by a role that should not) is kept one more
      // day, so a mistake can be undone; no report outlives the retention by more than that day
      // (expiration only hides a versioned object: its data goes with the noncurrent version).
      versioned: true,
      lifecycleRules: [
        {
          prefix: "reports/",
          expiration: Duration.days(props.reportRetentionDays ?? 90),
          noncurrentVersionExpiration: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.function = syncFunction(this, "Function", {
      entry: "full-sync.ts",
      syncConfig: props.syncConfig,
      timeout: Duration.millis(FULL_SYNC_STEP_TIMEOUT_MS),
      memorySize: FULL_SYNC_MEMORY_MB,
      logRetention: props.logRetention,
      tracing: props.tracing,
      environment: { ...props.environment, REPORT_BUCKET_NAME: this.reportBucket.bucketName },
    });
    // Puts its report, and nothing else: no read, no delete, no multipart upload.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["s3:PutObject"],
        resources: [this.reportBucket.arnForObjects("reports/*")],
      }),
    );
    Validations.of(this.function.role ?? this.function).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.#stackLogicalId(this.reportBucket)}.Arn>/reports/*]`,
      reason:
        "Each run writes a report of its own under reports/<date>/<run id>.json: only that prefix, only PutObject",
    });
    Validations.of(this.reportBucket).acknowledge({
      id: "AwsSolutions-S1",
      reason:
        "Only the full-sync function writes here, one object a run; who read a report is recorded by CloudTrail data events where the account enables them, and an access-log bucket would hold more than the reports",
    });

    // Step until done: the step's answer ({runId, done}) is the next step's input.
    // The execution's id rides along, so a retry of a failed first step goes on with the run that
    // step started rather than finding it "in progress" and answering done.
    const step = new tasks.LambdaInvoke(this, "Step", {
      lambdaFunction: this.function,
      payload: sfn.TaskInput.fromObject({ "input.$": "$", "executionId.$": "$$.Execution.Id" }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: true,
    });
    step.addRetry({ errors: ["States.TaskFailed"], maxAttempts: 2, interval: Duration.seconds(30) });
    const loop = step.next(
      new sfn.Choice(this, "Done?")
        .when(sfn.Condition.booleanEquals("$.done", true), new sfn.Succeed(this, "Finished"))
        .otherwise(step),
    );
    this.stateMachine = new sfn.StateMachine(this, "StateMachine", {
      definitionBody: sfn.DefinitionBody.fromChainable(loop),
      timeout: Duration.millis(FULL_SYNC_STALE_AFTER_MS),
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, "StateMachineLogs", {
          retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    Validations.of(this.stateMachine.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.#stackLogicalId(this.function)}.Arn>:*]`,
      reason:
        "Step Functions' Lambda task may invoke the function's versions: the function's own ARN with any qualifier",
    });
    Validations.of(this.stateMachine.role).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "X-Ray's PutTraceSegments and the log delivery actions Step Functions needs for its log group take no resource: AWS documents them on *",
    });
    const role = new iam.Role(this, "ScheduleRole", {
      assumedBy: schedulerPrincipal(),
    });
    this.schedule = new scheduler.Schedule(this, "Schedule", {
      schedule: scheduler.ScheduleExpression.expression(props.schedule ?? DEFAULT_SCHEDULE),
      description: "tallyfy-idp-sync full reconciliation",
      target: new schedulerTargets.StepFunctionsStartExecution(this.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject({}),
        role,
        // Retried for an hour, then kept with its reason: a run that never started must be seen.
        deadLetterQueue: props.scheduleDeadLetterQueue,
        retryAttempts: 10,
        maxEventAge: Duration.hours(1),
      }),
    });
  }

  #stackLogicalId(construct: Construct): string {
    const resource = construct.node.defaultChild ?? construct;
    const stack = Stack.of(this);
    return String(stack.resolve(stack.getLogicalId(resource as CfnElement)));
  }

  /** A metric the run emits, summed over a day (a run a day). */
  public metric(name: FullSyncMetric): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: name,
      dimensionsMap: { service: serviceOf(this) },
      statistic: "Sum",
      period: Duration.hours(1),
    });
  }

  /** The alarms an operator needs of the full reconciliation, with what each tells them. */
  public alarms(): AlarmSpec[] {
    const silence = silenceWindowHours(this.#props.schedule ?? DEFAULT_SCHEDULE);
    return [
      ...(silence === undefined
        ? []
        : [
            {
              id: "FullSyncSilentAlarm",
              metric: this.stateMachine.metricSucceeded({ statistic: "Sum", period: Duration.hours(1) }),
              threshold: 1,
              text: `No full reconciliation succeeded in ${silence} hours: the safety net that finds lost events has stopped. Look at the schedule (SchedulesDeadLetters), the state machine's executions and the function's log`,
              // Every hour of the window without a success, an hour with no data included.
              options: {
                comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluationPeriods: silence,
                treatMissingData: cloudwatch.TreatMissingData.BREACHING,
              },
            },
          ]),
      {
        id: "FullSyncStoppedAlarm",
        metric: this.metric(FullSyncMetric.Stopped),
        threshold: 1,
        text: 'A full reconciliation stopped at the deprovisioning limit: nothing was changed. Read the drift report (README "Operations") for who would have been deprovisioned, and why the source no longer lists them',
      },
      {
        id: "FullSyncListingFailedAlarm",
        metric: this.metric(FullSyncMetric.ListingFailed),
        threshold: 1,
        text: "A full reconciliation could not list a source completely: nobody was deprovisioned from that listing. Check the source's credential and the function's log",
      },
      {
        id: "FullSyncDriftAlarm",
        metric: this.metric(FullSyncMetric.Corrected),
        threshold: this.#props.driftAlarmThreshold ?? 25,
        text: "A full reconciliation corrected many people and groups: events are being lost (a webhook key, a rule, a mapping). Read the drift report",
      },
      {
        id: "FullSyncFailedAlarm",
        // A run that timed out or was aborted stopped as surely as one that failed.
        metric: new cloudwatch.MathExpression({
          expression: "FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)",
          usingMetrics: {
            failed: this.stateMachine.metricFailed({ statistic: "Sum" }),
            timedOut: this.stateMachine.metricTimedOut({ statistic: "Sum" }),
            aborted: this.stateMachine.metricAborted({ statistic: "Sum" }),
          },
          period: Duration.hours(1),
          label: "Full reconciliations failed, timed out or aborted",
        }),
        threshold: 1,
        text: "A full reconciliation failed, timed out or was aborted: read the state machine's execution and the function's log",
      },
    ];
  }
}

/**
 * The full reconciliation of the pipeline's directory: Tallyfy and each listing source read at
 * `fraction` of their budgets, and only the grants it needs.
 */
export function fullSyncFor(
  scope: Construct,
  pipeline: Pipeline,
  options: { readonly props: TallyfyIdpSyncProps; readonly settings: Settings; readonly fraction: number },
): FullSync {
  const { props, settings, fraction } = options;
  const fullSync = props.fullSync ?? {};
  // Only the sources that can list their users are read.
  const listing = pipeline.enabled.filter(({ source }) => source.listUsers !== undefined);
  const construct = new FullSync(scope, "FullSync", {
    schedule: fullSync.schedule,
    reportRetentionDays: fullSync.reportRetentionDays,
    driftAlarmThreshold: fullSync.driftAlarmThreshold,
    logRetention: props.logRetention,
    tracing: props.tracing,
    syncConfig: pipeline.config,
    scheduleDeadLetterQueue: pipeline.queues.schedulesDeadLetter,
    environment: {
      RECONCILE_QUEUE_URL: pipeline.queues.reconcile.queueUrl,
      DEPARTURES_QUEUE_URL: pipeline.queues.departures.queueUrl,
      DIRECTORY_TABLE_NAME: pipeline.directory.table.tableName,
      ...tallyfyVariables(props, pipeline.tallyfySecret),
      TALLYFY_REQUESTS_PER_MINUTE: String(budgetShare(settings.tallyfyRequestsPerMinute, fraction)),
      FULL_SYNC_MAX_DEPARTURE_SHARE: String(fullSync.maxDepartureShare ?? 0.05),
      ...Object.fromEntries(
        listing.flatMap(({ source, secret }) => {
          const variable = source.deployment?.secret?.variable;
          const budget = source.deployment?.rateBudget;
          const page = source.deployment?.listingPage;
          const perMinute = budget && budgetShare(budget.perMinute, fraction);
          return [
            ...(variable && secret ? [[variable, secret.secretArn]] : []),
            ...(budget ? [[budget.variable, String(perMinute)]] : []),
            ...(page && perMinute ? [[page.variable, String(listingPageSize(page, perMinute))]] : []),
          ];
        }),
      ),
    },
  });
  pipeline.directory.grantFullSync(construct.function);
  pipeline.queues.reconcile.grantSendMessages(construct.function);
  pipeline.queues.departures.grantSendMessages(construct.function);
  pipeline.tallyfySecret.grantRead(construct.function);
  for (const { secret } of listing) secret?.grantRead(construct.function);
  return construct;
}
