/** The Lambda functions' common build: Node 24 on arm64, ESM bundled by the local esbuild, JSON logs. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Duration,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
  RemovalPolicy,
  Stack,
} from "aws-cdk-lib";
import { type ICommandHooks, NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import type { Construct } from "constructs";
import { SYNC_CONFIG_FILE } from "../handlers/contracts/configuration.js";
import { METRICS_NAMESPACE } from "../handlers/contracts/metrics.js";

const here = path.dirname(fileURLToPath(import.meta.url));
/** A clone's handler sources: bundled at synth by the local esbuild. */
const handlers = path.join(here, "..", "handlers");
/** The installed package's handlers, bundled when it was packed (package/build.ts). */
const prebuilt = path.join(here, "assets");

/** How a handler is bundled, in a clone at synth and in the package when it is packed. */
export const HANDLER_BUNDLING = {
  target: "node24",
  mainFields: ["module", "main"],
  // ESM bundles of CommonJS dependencies still call require().
  banner: "import { createRequire } from 'module';const require = createRequire(import.meta.url);",
} as const;

export interface SyncFunctionProps {
  /** The entry point's file under `handlers/`, e.g. `ingest.ts`. */
  readonly entry: string;
  readonly timeout: Duration;
  /**
   * Memory, megabytes (and the CPU that comes with it).
   * @default 256
   */
  readonly memorySize?: number;
  /** Ids of secrets and queues, never a secret; Powertools' names and source maps are added. */
  readonly environment: Record<string, string>;
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * X-Ray active tracing of each invocation (Lambda's own segments; no tracing SDK is bundled).
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * The sync configuration (JSON), bundled beside the handler as `SYNC_CONFIG_FILE`: Lambda allows
   * 4 KB of environment in all, which a few dozen group mappings pass.
   * @default none: the function reads no configuration
   */
  readonly syncConfig?: string;
}

/**
 * The `service` dimension of the functions' custom metrics, and the alarms' and dashboard's on
 * them: the stack's name, so a staging and a production stack in one account and region never
 * share an alarm.
 */
export function serviceOf(scope: Construct): string {
  return Stack.of(scope).stackName;
}

export function syncFunction(scope: Construct, id: string, props: SyncFunctionProps): lambda.Function {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, {
    retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  // Its own log group only: AWSLambdaBasicExecutionRole would let it write to any log group.
  const role = new iam.Role(scope, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
    inlinePolicies: {
      Logs: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
            resources: [logGroup.logGroupArn],
          }),
        ],
      }),
    },
  });
  const common = {
    role,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: props.memorySize ?? 256,
    timeout: props.timeout,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
    environment: {
      POWERTOOLS_SERVICE_NAME: serviceOf(scope),
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      NODE_OPTIONS: "--enable-source-maps",
      ...props.environment,
    },
  };
  const source = path.join(handlers, props.entry);
  if (!fs.existsSync(source)) {
    return new lambda.Function(scope, id, {
      ...common,
      handler: "index.handler",
      code: lambda.Code.fromAsset(packagedAsset(props.entry, props.syncConfig)),
    });
  }
  return new NodejsFunction(scope, id, {
    ...common,
    entry: source,
    handler: "handler",
    bundling: {
      format: OutputFormat.ESM,
      minify: true,
      sourceMap: true,
      target: HANDLER_BUNDLING.target,
      mainFields: [...HANDLER_BUNDLING.mainFields],
      banner: HANDLER_BUNDLING.banner,
      // Bundle the pinned SDK rather than rely on the runtime's copy.
      externalModules: [],
      ...(props.syncConfig === undefined
        ? {}
        : { commandHooks: bundledFile(SYNC_CONFIG_FILE, props.syncConfig) }),
    },
  });
}

/** Neither a clone's handler source nor the installed package's bundle of it exists. */
export class HandlerBundleNotFoundError extends Error {
  public override readonly name = "HandlerBundleNotFoundError";
}

/**
 * A new, empty folder of this process's own: a folder named by content and reused across runs
 * would deploy whatever else another user of the machine put in it.
 */
function stagingFolder(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "tallyfy-idp-sync-"));
}

/**
 * The installed package's bundle of `entry`, with the configuration beside it when there is one.
 * The asset's hash is its content's, so a change of either changes the function's code.
 */
function packagedAsset(entry: string, syncConfig: string | undefined): string {
  const bundle = path.join(prebuilt, path.basename(entry, ".ts"));
  if (!fs.existsSync(path.join(bundle, "index.mjs"))) {
    throw new HandlerBundleNotFoundError(
      `tallyfy-idp-sync: neither ${path.join(handlers, entry)} nor the packaged ${bundle} exists`,
    );
  }
  if (syncConfig === undefined) return bundle;
  const staged = stagingFolder();
  for (const file of fs.readdirSync(bundle))
    fs.copyFileSync(path.join(bundle, file), path.join(staged, file));
  fs.writeFileSync(path.join(staged, SYNC_CONFIG_FILE), syncConfig);
  return staged;
}

/**
 * Copies `content` into the bundle as `name`, through a file staged at synth in a folder of its
 * own (the asset's hash is the bundle's, so a change of content changes the asset). Node does the
 * copy: the hook runs in the local shell, and the content never passes through it.
 */
function bundledFile(name: string, content: string): ICommandHooks {
  const staged = path.join(stagingFolder(), name);
  fs.writeFileSync(staged, content);
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (_inputDir, outputDir) => [
      `node -e "require('node:fs').copyFileSync(process.argv[1], process.argv[2])" "${staged}" "${path.join(outputDir, name)}"`,
    ],
  };
}
