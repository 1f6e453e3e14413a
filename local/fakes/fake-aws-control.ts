/**
 * The AWS control-plane reads the operator commands make, on loopback: CloudFormation's
 * DescribeStacks (the query protocol, answered in XML as AWS answers it), Lambda's GetFunction
 * (REST JSON) and the download of the function's code package from the address it gives, as a zip.
 * Every request is logged, so a test can show nothing wrote.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { strToU8, zipSync } from "fflate";

export interface FakeStack {
  readonly outputs: Readonly<Record<string, string>>;
}

export class FakeAwsControl {
  public readonly stacks = new Map<string, FakeStack>();
  /** Each function's environment variables. */
  public readonly functions = new Map<string, Readonly<Record<string, string>>>();
  /** Files in a function's code package besides its handler (name to content). */
  public readonly bundles = new Map<string, Readonly<Record<string, string>>>();
  public readonly requests: { readonly method: string; readonly action: string }[] = [];

  private constructor(private readonly server: Server) {}

  public static async start(): Promise<FakeAwsControl> {
    let fake: FakeAwsControl | undefined;
    const server = createServer((req, res) => {
      void fake?.handle(req).then(({ status, type, body }) => {
        res.writeHead(status, { "content-type": type });
        res.end(body);
      });
    });
    fake = new FakeAwsControl(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  public get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  public stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  async handle(req: IncomingMessage): Promise<{ status: number; type: string; body: string | Uint8Array }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const code = /^\/code\/([^/?]+)\.zip/.exec(req.url ?? "");
    if (code) {
      const name = decodeURIComponent(code[1] ?? "");
      this.requests.push({ method: req.method ?? "", action: "GetCode" });
      const files = { "index.mjs": "export const handler = async () => {};", ...this.bundles.get(name) };
      return {
        status: 200,
        type: "application/zip",
        body: zipSync(Object.fromEntries(Object.entries(files).map(([file, text]) => [file, strToU8(text)]))),
      };
    }
    const fn = /^\/2015-03-31\/functions\/([^/?]+)(\/configuration)?/.exec(req.url ?? "");
    if (fn) {
      const name = decodeURIComponent(fn[1] ?? "");
      const configurationOnly = fn[2] !== undefined;
      this.requests.push({
        method: req.method ?? "",
        action: configurationOnly ? "GetFunctionConfiguration" : "GetFunction",
      });
      const variables = this.functions.get(name);
      if (!variables) {
        return {
          status: 404,
          type: "application/json",
          body: JSON.stringify({ Type: "User", message: `Function not found: ${name}` }),
        };
      }
      const configuration = { FunctionName: name, Environment: { Variables: variables } };
      return {
        status: 200,
        type: "application/json",
        body: JSON.stringify(
          configurationOnly
            ? configuration
            : {
                Configuration: configuration,
                // A presigned S3 address in AWS, good for ten minutes.
                Code: {
                  RepositoryType: "S3",
                  Location: `${this.endpoint}/code/${encodeURIComponent(name)}.zip`,
                },
              },
        ),
      };
    }
    const form = new URLSearchParams(body);
    const action = form.get("Action") ?? "";
    this.requests.push({ method: req.method ?? "", action });
    const stackName = form.get("StackName") ?? "";
    const stack = this.stacks.get(stackName);
    if (action !== "DescribeStacks" || !stack) {
      return {
        status: 400,
        type: "text/xml",
        body: `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${xmlEscape(stackName)} does not exist</Message></Error><RequestId>1</RequestId></ErrorResponse>`,
      };
    }
    const outputs = Object.entries(stack.outputs)
      .map(
        ([k, v]) =>
          `<member><OutputKey>${xmlEscape(k)}</OutputKey><OutputValue>${xmlEscape(v)}</OutputValue></member>`,
      )
      .join("");
    return {
      status: 200,
      type: "text/xml",
      body: `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>${xmlEscape(stackName)}</StackName><StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2026-12-01T00:00:00Z</CreationTime><Outputs>${outputs}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeStacksResponse>`,
    };
  }
}

function xmlEscape(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}
