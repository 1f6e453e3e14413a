/**
 * The OAuth 2.0 client-credentials token request, as both Tallyfy (client secret) and Okta
 * (`private_key_jwt`) take it: a form POST, a timeout, and errors that say whether a retry may
 * help, naming the endpoint and the OAuth error code but never a credential.
 */
import * as z from "zod";
import { jsonOrUndefined } from "./http.js";

const TokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.number().positive().optional(),
});

export interface TokenRequest {
  readonly url: string;
  /** The grant's form fields; `grant_type=client_credentials` is added. */
  readonly form: Readonly<Record<string, string>>;
  readonly fetch: typeof globalThis.fetch;
  readonly timeoutMs: number;
  /** Builds the caller's own error class; `transient` says whether a retry may help. */
  readonly error: (message: string, transient: boolean) => Error;
}

export interface Token {
  readonly accessToken: string;
  readonly tokenType?: string;
  /** Seconds, when the endpoint said. */
  readonly expiresIn?: number;
}

export async function requestToken(request: TokenRequest): Promise<Token> {
  const { url, error } = request;
  let response: Response;
  let text: string;
  try {
    response = await request.fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: new URLSearchParams({ grant_type: "client_credentials", ...request.form }).toString(),
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    text = await response.text();
  } catch (cause) {
    const name = cause instanceof Error ? cause.name : "UnknownError";
    throw error(`token request to ${url} failed (${name})`, true);
  }
  if (!response.ok) {
    const code = oauthErrorCode(text);
    throw error(
      `token request to ${url} answered HTTP ${response.status}${code ? ` ${code}` : ""}`,
      response.status === 429 || response.status >= 500,
    );
  }
  const parsed = TokenResponseSchema.safeParse(jsonOrUndefined(text));
  if (!parsed.success) throw error(`token response from ${url} has no access_token`, false);
  const { access_token, token_type, expires_in } = parsed.data;
  return { accessToken: access_token, tokenType: token_type, expiresIn: expires_in };
}

/** The OAuth `error` code (e.g. `invalid_client`) and nothing else: descriptions may echo input. */
function oauthErrorCode(text: string): string | undefined {
  const body = jsonOrUndefined(text);
  const code = body && typeof body === "object" ? (body as { error?: unknown }).error : undefined;
  return typeof code === "string" && /^[a-z_]{1,64}$/.test(code) ? code : undefined;
}
