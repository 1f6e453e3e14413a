/**
 * Serves the SCIM function on loopback HTTP, as API Gateway would call it: each request becomes a
 * Lambda proxy event for the real handler. `npm start -- --scim`, the tests and the bench use it.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { APIGatewayProxyEvent } from "aws-lambda";
import type { ScimHandler } from "../handlers/runtime/scim-handler.js";

export interface LocalScimServer {
  /** The SCIM base URL, `http://127.0.0.1:<port>/scim/v2`. */
  readonly url: string;
  stop(): Promise<void>;
}

/** API Gateway's own limit on a request body. */
const MAX_BODY = 10 * 1024 * 1024;

export async function startScimServer(handler: ScimHandler, port = 0): Promise<LocalScimServer> {
  const server = createServer(async (request, response) => {
    try {
      const body = await readBody(request);
      if (body === undefined) {
        response.writeHead(413).end();
        return;
      }
      const result = await handler(proxyEvent(request, body));
      response.writeHead(result.statusCode, result.headers as Record<string, string>);
      response.end(result.body);
    } catch (error) {
      // As API Gateway does when the function itself fails.
      console.error(error);
      response
        .writeHead(502, { "Content-Type": "application/json" })
        .end('{"message":"Internal server error"}');
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/scim/v2`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function readBody(request: IncomingMessage): Promise<string | null | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk as Buffer);
  }
  return size === 0 ? null : Buffer.concat(chunks).toString("utf8");
}

function proxyEvent(request: IncomingMessage, body: string | null): APIGatewayProxyEvent {
  const url = new URL(request.url ?? "/", "http://127.0.0.1");
  const headers: Record<string, string> = { "X-Forwarded-Proto": "http" };
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value === "string") headers[name] = value;
  }
  const query = Object.fromEntries(url.searchParams.entries());
  return {
    httpMethod: request.method ?? "GET",
    path: url.pathname,
    resource: "/v2/{proxy+}",
    headers,
    multiValueHeaders: {},
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body,
    isBase64Encoded: false,
    requestContext: {
      domainName: request.headers.host ?? "127.0.0.1",
      path: url.pathname,
      stage: "scim",
      httpMethod: request.method ?? "GET",
    } as APIGatewayProxyEvent["requestContext"],
  };
}
