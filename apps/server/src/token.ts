/**
 * Mints an event-stream token with HERALD_JWT_SECRET, for curl and for services that publish:
 *   HERALD_JWT_SECRET=… npm run token -- --sub me --channels 'project.*' --publish 'project.*'
 */
import { parseArgs } from "node:util";
import { createJwtAuth } from "@herald/hub";

const { values } = parseArgs({
  options: {
    sub: { type: "string", default: "cli" },
    channels: { type: "string", multiple: true, default: [] },
    publish: { type: "string", multiple: true, default: [] },
    "expires-in": { type: "string", default: "3600" },
  },
});
if (!process.env.HERALD_JWT_SECRET) {
  process.stderr.write(
    "Set HERALD_JWT_SECRET to the secret the server uses, or the token will not be accepted.\n",
  );
  process.exit(2);
}
const token = await createJwtAuth().sign({
  sub: values.sub,
  channels: values.channels,
  publish: values.publish,
  expiresInS: Number(values["expires-in"]),
});
process.stdout.write(`${token}\n`);
