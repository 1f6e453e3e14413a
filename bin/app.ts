/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy`. Configured by the `tallyfyIdpSync` context key
 * in cdk.json (or `-c tallyfyIdpSync='{...}'`); checked by cdk-nag's AwsSolutions pack.
 */
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { CONTEXT_KEY, parseAppConfig } from "../lib/app-config.js";
import { TallyfyIdpSyncStack } from "../lib/stack.js";

const app = new App();
const config = parseAppConfig(app.node.tryGetContext(CONTEXT_KEY));
// An environment only when the CLI resolved an account: without credentials it still sets
// CDK_DEFAULT_REGION to a default, which would pin that region into a template meant for any.
const account = process.env.CDK_DEFAULT_ACCOUNT;
new TallyfyIdpSyncStack(app, config.stackName, {
  config,
  env: account ? { account, region: process.env.CDK_DEFAULT_REGION } : undefined,
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
