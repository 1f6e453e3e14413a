/**
 * Where a run's report goes: one JSON object a run in the stack's report bucket, under
 * `reports/<date>/<run id>.json`, so a lifecycle rule can expire old ones by prefix.
 */
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { FullSyncReport } from "./full-sync.js";

export function reportKey(runId: string, finishedAt: string): string {
  return `reports/${finishedAt.slice(0, 10)}/${runId}.json`;
}

/** Writes the report; returns its `s3://` address. */
export function s3ReportWriter(s3: S3Client, bucket: string) {
  return async (runId: string, report: FullSyncReport): Promise<string> => {
    const key = reportKey(runId, report.finishedAt);
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: JSON.stringify(report, null, 2),
        ContentType: "application/json",
      }),
    );
    return `s3://${bucket}/${key}`;
  };
}
