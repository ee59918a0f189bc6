import { randomUUID } from "node:crypto";
import { cookies } from "next/headers";
import { auth } from "@/lib/herald";

const TOKEN_LIFETIME_S = 3600;

/**
 * Signs in a visitor of the demo: a project of its own, and the `herald_token` cookie that the
 * page's EventSource sends with every request to /api/v1/events. A real app signs the user its
 * session names, with the channels that user may follow.
 */
export async function POST(request: Request): Promise<Response> {
  const projectId = randomUUID();
  const token = await auth.sign({
    sub: projectId,
    // File ids are unguessable UUIDs, handed out only to the visitor whose generation made them.
    channels: [`project.${projectId}`, "file.*"],
    publish: [],
    expiresInS: TOKEN_LIFETIME_S,
  });
  (await cookies()).set("herald_token", token, {
    httpOnly: true,
    sameSite: "lax",
    secure: new URL(request.url).protocol === "https:",
    path: "/",
    maxAge: TOKEN_LIFETIME_S,
  });
  return Response.json({ projectId });
}
