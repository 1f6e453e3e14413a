import { TallyfyClient, type TallyfyClientOptions } from "../../handlers/tallyfy/client.js";
import { StaticTokenSource } from "../../handlers/tallyfy/credentials.js";
import type { FakeTallyfy } from "../../local/fakes/fake-tallyfy.js";

/** A client pointed at the fake, whose sleeps are recorded and skipped so retry tests run instantly. */
export function clientFor(fake: FakeTallyfy, overrides: Partial<TallyfyClientOptions> = {}) {
  const sleeps: number[] = [];
  const client = new TallyfyClient({
    organizationId: fake.organizationId,
    baseUrl: fake.url,
    tokens: new StaticTokenSource("test-token"),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...overrides,
  });
  return { client, sleeps };
}
