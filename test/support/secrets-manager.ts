/**
 * The Secrets Manager stand-in of a test file: started before its tests, with the SDK's
 * environment pointed at it (the sources read their secrets through Powertools and the real
 * client, as in Lambda), and stopped after them.
 */
import { afterAll, beforeAll } from "vitest";
import { LOCAL_CREDENTIALS, LOCAL_REGION } from "../../local/event-source.js";
import { FakeSecretsManager } from "../../local/fakes/fake-secrets-manager.js";

/** Registers the stand-in's hooks; the function returned gives the running stand-in. */
export function useLocalSecretsManager(): () => FakeSecretsManager {
  let running: FakeSecretsManager | undefined;
  beforeAll(async () => {
    running = await FakeSecretsManager.start();
    Object.assign(process.env, {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: running.endpoint,
    });
  });
  afterAll(async () => {
    await running?.stop();
  });
  return () => {
    if (!running) throw new Error("the Secrets Manager stand-in runs only while the file's tests do");
    return running;
  };
}
