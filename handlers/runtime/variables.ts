/**
 * What every entry point does with its environment, in a module light enough for each: parse the
 * variables (the error names every bad one), and build the SQS client.
 */
import { SQSClient } from "@aws-sdk/client-sqs";
import type * as z from "zod";
import { describeIssues } from "../core/issues.js";

/** A required variable is missing or malformed: the function cannot start. */
export class EnvironmentError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = "EnvironmentError";
  }
}

export function parseEnvironment<T extends z.ZodType>(schema: T, env: NodeJS.ProcessEnv): z.output<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new EnvironmentError(`environment: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/**
 * A SQS client that sends to the queue URL's own endpoint in AWS, and to `AWS_ENDPOINT_URL_SQS`
 * when that is set (local runs), whatever host the emulator puts in its queue URLs.
 */
export function sqsClient(): SQSClient {
  return new SQSClient(process.env.AWS_ENDPOINT_URL_SQS ? { useQueueUrlAsEndpoint: false } : {});
}
