/** What the stack's EventBridge Scheduler schedules share. */
import { Aws, aws_iam as iam } from "aws-cdk-lib";

/**
 * The principal a schedule's role trusts: EventBridge Scheduler, acting for this account's
 * schedules only (`aws:SourceAccount`, and `aws:SourceArn` on the default schedule group the
 * stack's schedules live in), so no other account's schedule can assume the role.
 */
export function schedulerPrincipal(): iam.IPrincipal {
  return new iam.ServicePrincipal("scheduler.amazonaws.com").withConditions({
    StringEquals: {
      "aws:SourceAccount": Aws.ACCOUNT_ID,
      "aws:SourceArn": `arn:${Aws.PARTITION}:scheduler:${Aws.REGION}:${Aws.ACCOUNT_ID}:schedule-group/default`,
    },
  });
}
