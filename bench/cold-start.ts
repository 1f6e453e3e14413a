/**
 * Cold start: each handler bundled the way the stack bundles it (esbuild, minified ESM, every
 * dependency inside), against a baseline bundle that imports only the same AWS SDK clients and
 * creates them. Measured: bundle size, and the median time to import the bundle in a fresh Node
 * process (the part of a Lambda cold start this code controls).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface ColdStartResult {
  readonly name: string;
  readonly bytes: number;
  readonly medianImportMs: number;
}

const BASELINE = `
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
export const clients = [
  new SQSClient({}),
  new SecretsManagerClient({}),
  DynamoDBDocumentClient.from(new DynamoDBClient({})),
];
`;

/** The environment a deployed handler starts with (values are placeholders; nothing is called). */
const HANDLER_ENV = {
  AWS_REGION: "eu-west-1",
  RECONCILE_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/111111111111/reconcile.fifo",
  DIRECTORY_TABLE_NAME: "tallyfy-idp-sync-directory",
  INGEST_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/111111111111/ingest",
  DEAD_LETTER_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/111111111111/dlq",
  TALLYFY_SECRET_ID: "tallyfy",
  TALLYFY_ORG_ID: "org",
  SCIM_TOKEN_SECRET_ID: "scim",
  WEBHOOK_SOURCE: "entra",
  WEBHOOK_SECRET_ID: "entra-webhook",
  REPORT_BUCKET_NAME: "tallyfy-idp-sync-reports",
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  POWERTOOLS_METRICS_DISABLED: "true",
};

export async function bundle(
  entry: { name: string; file?: string; contents?: string },
  outDir: string,
): Promise<string> {
  const outfile = path.join(outDir, `${entry.name}.mjs`);
  await build({
    ...(entry.file
      ? { entryPoints: [entry.file] }
      : { stdin: { contents: entry.contents ?? "", resolveDir: root, loader: "ts" } }),
    outfile,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "node",
    target: "node20",
    mainFields: ["module", "main"],
    banner: { js: "import { createRequire } from 'module';const require = createRequire(import.meta.url);" },
    logLevel: "silent",
  });
  return outfile;
}

function importMs(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...process.env, ...HANDLER_ENV },
  });
  return Number(out.toString());
}

function median(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** The bundles that are deployed handlers, judged against the target; the rest explain them. */
export const HANDLERS = ["ingest", "apply", "scim", "webhook", "full-sync", "upkeep"];

/** Each handler at most this many times the SDK-only baseline, in size and in import time. */
export const COLD_START_TARGET = 1.3;

export async function measureColdStart(runs = 21): Promise<ColdStartResult[]> {
  const outDir = path.join(tmpdir(), `tallyfy-cold-${process.pid}`);
  mkdirSync(outDir, { recursive: true });
  try {
    const entries = [
      { name: "sdk-only baseline", contents: BASELINE },
      { name: "ingest", file: path.join(root, "handlers", "ingest.ts") },
      { name: "apply", file: path.join(root, "handlers", "apply.ts") },
      { name: "scim", file: path.join(root, "handlers", "scim.ts") },
      { name: "webhook", file: path.join(root, "handlers", "webhook.ts") },
      { name: "full-sync", file: path.join(root, "handlers", "full-sync.ts") },
      { name: "upkeep", file: path.join(root, "handlers", "upkeep.ts") },
      // What each dependency adds to the baseline, to decide with figures what to trim.
      {
        name: "baseline + zod",
        contents: `${BASELINE} import * as z from "zod"; export const s = z.object({ a: z.string().email(), b: z.number().int() });`,
      },
      {
        name: "baseline + zod/mini",
        contents: `${BASELINE} import * as z from "zod/mini"; export const s = z.object({ a: z.email(), b: z.int() });`,
      },
      {
        name: "baseline + Powertools",
        contents: `${BASELINE} import { Logger } from "@aws-lambda-powertools/logger"; import { Metrics } from "@aws-lambda-powertools/metrics"; import { BatchProcessor, EventType } from "@aws-lambda-powertools/batch"; import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets"; export const all = [new Logger(), new Metrics({ namespace: "n" }), new BatchProcessor(EventType.SQS), new SecretsProvider()];`,
      },
      // What the SCIM function's two SCIM libraries cost on their own.
      {
        name: "scim libraries only",
        contents: `import { scimPatch } from "scim-patch"; import { parse, filter } from "scim2-parse-filter"; export { scimPatch, parse, filter };`,
      },
    ];
    const files: string[] = [];
    for (const entry of entries) files.push(await bundle(entry, outDir));
    // Round-robin, so a slow spell of the machine falls on every bundle alike, not on one.
    const times = files.map((): number[] => []);
    for (let run = 0; run < runs; run++) {
      files.forEach((file, index) => {
        times[index]?.push(importMs(file));
      });
    }
    return entries.map((entry, index) => ({
      name: entry.name,
      bytes: statSync(files[index] ?? "").size,
      medianImportMs: median(times[index] ?? []),
    }));
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

export function writeJson(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}
