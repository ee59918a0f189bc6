// app/api/token/route.ts
import { randomUUID } from "node:crypto";
import { cookies } from "next/headers";
import { auth } from "@/lib/herald";

// Signs the visitor in for an hour: a project of its own, and the herald_token cookie that
// the page's EventSource sends. A real app signs the user its session names.
export async function POST(request: Request) {
  const projectId = randomUUID();
  const token = await auth.sign({
    sub: projectId,
    // File ids are random UUIDs, told only to the visitor who started the generation.
    channels: [`project.${projectId}`, "file.*"],
    expiresInS: 3600,
  });
  (await cookies()).set("herald_token", token, {
    httpOnly: true,
    sameSite: "lax",
    secure: new URL(request.url).protocol === "https:",
    path: "/",
    maxAge: 3600,
  });
  return Response.json({ projectId });
}
