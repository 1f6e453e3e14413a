/**
 * A Secrets Manager stand-in on 127.0.0.1 speaking the service's awsJson1_1 protocol, so the real
 * SDK client (and Powertools on top of it) runs unmodified. Only GetSecretValue is served; errors
 * use the service's `__type` names so the SDK throws its own exception classes.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export class FakeSecretsManager {
  public readonly secrets = new Map<string, string>();
  /** SecretIds of every GetSecretValue call, in order. */
  public readonly reads: string[] = [];
  /** When set, the next calls fail with this `__type` (e.g. ThrottlingException), `times` times. */
  public failure?: { type: string; status: number; times: number };

  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  public static async start(): Promise<FakeSecretsManager> {
    let fake: FakeSecretsManager | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const answer = fake?.answer(req.headers["x-amz-target"], Buffer.concat(chunks).toString("utf8"));
        res
          .writeHead(answer?.status ?? 500, { "Content-Type": "application/x-amz-json-1.1" })
          .end(JSON.stringify(answer?.body));
      });
    });
    fake = new FakeSecretsManager(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  public get endpoint(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Client settings for `SecretsManagerClient` / Powertools `SecretsProvider({ clientConfig })`. */
  public get clientConfig() {
    return {
      endpoint: this.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    };
  }

  public async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  private answer(target: string | string[] | undefined, raw: string): { status: number; body: unknown } {
    if (target !== "secretsmanager.GetSecretValue") {
      return { status: 400, body: { __type: "InvalidAction", message: `unsupported ${String(target)}` } };
    }
    const { SecretId } = JSON.parse(raw) as { SecretId: string };
    this.reads.push(SecretId);
    if (this.failure && this.failure.times > 0) {
      this.failure.times--;
      return { status: this.failure.status, body: { __type: this.failure.type, message: "injected" } };
    }
    const value = this.secrets.get(SecretId);
    if (value === undefined) {
      return {
        status: 400,
        body: {
          __type: "ResourceNotFoundException",
          message: "Secrets Manager can't find the specified secret.",
        },
      };
    }
    return {
      status: 200,
      body: {
        ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${SecretId}`,
        Name: SecretId,
        SecretString: value,
        VersionId: "v1",
        VersionStages: ["AWSCURRENT"],
        CreatedDate: 1_700_000_000,
      },
    };
  }
}
