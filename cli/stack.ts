/**
 * What the commands read of a deployed stack: its outputs (CloudFormation), and the configuration
 * the functions run with (the apply function's environment, which holds ids, never secrets, and the
 * configuration file in its code package). The operator's own AWS credentials are used; nothing
 * here writes.
 */
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { GetFunctionCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { strFromU8, unzipSync } from "fflate";
import { SYNC_CONFIG_FILE } from "../handlers/contracts/configuration.js";

/** The stack, or an output the command needs, is not there. */
export class StackLookupError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = "StackLookupError";
  }
}

/** A stack's outputs by the construct's output id (`IngestDeadLetterQueueUrl`, ...). */
export class StackOutputs {
  public constructor(
    public readonly stackName: string,
    private readonly byLogicalId: Readonly<Record<string, string>>,
  ) {}

  /** The output whose logical id, less the construct path and CDK's hash, is `id`. */
  public find(id: string): string | undefined {
    for (const [key, value] of Object.entries(this.byLogicalId)) {
      // `Sync` + id + an 8-character hash, as CDK names an output of a nested construct.
      if (key === id || new RegExp(`^[A-Za-z0-9]*?${id}[0-9A-F]{8}$`).test(key)) return value;
    }
    return undefined;
  }

  public get(id: string): string {
    const value = this.find(id);
    if (value === undefined) throw new StackLookupError(`stack ${this.stackName} has no ${id} output`);
    return value;
  }
}

export async function readStackOutputs(
  stackName: string,
  cfn: CloudFormationClient = new CloudFormationClient({}),
): Promise<StackOutputs> {
  const answer = await cfn
    .send(new DescribeStacksCommand({ StackName: stackName }))
    .catch((error: unknown) => {
      // CloudFormation answers a stack it does not have with a ValidationError.
      if (error instanceof Error && error.name === "ValidationError")
        throw new StackLookupError(`no stack named ${stackName} (${error.message})`);
      throw error;
    });
  const stack = answer.Stacks?.[0];
  if (!stack) throw new StackLookupError(`no stack named ${stackName}`);
  return new StackOutputs(
    stackName,
    Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? "", o.OutputValue ?? ""])),
  );
}

/** The configuration and Tallyfy organization the deployed functions run with. */
export interface DeployedSettings {
  readonly syncConfig: string;
  readonly tallyfyUrl: string;
  readonly tallyfyOrganization: string;
  readonly tallyfySecretId: string;
  readonly oktaSecretId?: string;
}

export async function readDeployedSettings(
  outputs: StackOutputs,
  lambda: LambdaClient = new LambdaClient({}),
): Promise<DeployedSettings> {
  const name = outputs.get("ApplyFunctionName");
  const fn = await lambda.send(new GetFunctionCommand({ FunctionName: name }));
  const variables = fn.Configuration?.Environment?.Variables ?? {};
  const need = (key: string) => {
    const value = variables[key];
    if (!value) throw new StackLookupError(`the apply function ${name} has no ${key} variable`);
    return value;
  };
  return {
    // Stacks deployed before the configuration moved into the bundle still carry it in a variable.
    syncConfig: variables.SYNC_CONFIG || (await bundledConfig(name, fn.Code?.Location)),
    tallyfyUrl: need("TALLYFY_API_URL"),
    tallyfyOrganization: need("TALLYFY_ORG_ID"),
    tallyfySecretId: need("TALLYFY_SECRET_ID"),
    oktaSecretId: outputs.find("OktaSecretArn"),
  };
}

/** The configuration file the stack bundled with the function, read from its code package. */
async function bundledConfig(name: string, location: string | undefined): Promise<string> {
  if (!location) throw new StackLookupError(`Lambda gave no code location for the apply function ${name}`);
  const answer = await fetch(location);
  if (!answer.ok)
    throw new StackLookupError(`the apply function ${name}'s code could not be read (HTTP ${answer.status})`);
  const files = unzipSync(new Uint8Array(await answer.arrayBuffer()), {
    filter: (file) => file.name === SYNC_CONFIG_FILE,
  });
  const file = files[SYNC_CONFIG_FILE];
  if (!file) throw new StackLookupError(`the apply function ${name} bundles no ${SYNC_CONFIG_FILE}`);
  return strFromU8(file);
}
