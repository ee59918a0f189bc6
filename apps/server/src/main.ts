import { createApp } from "./app.ts";
import { readConfig } from "./config.ts";

const config = readConfig();
const app = await createApp({ ...config, logger: true });
await app.fastify.listen({ port: config.port, host: config.host });
const resumed = await app.resumeUnfinished();
if (resumed > 0)
  app.fastify.log.info({ tasks: resumed }, "took up tasks a previous stop left unfinished");

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    app.fastify.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.fastify.log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
