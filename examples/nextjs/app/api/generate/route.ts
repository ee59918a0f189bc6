// app/api/generate/route.ts
import { randomUUID } from "node:crypto";
import { cookies } from "next/headers";
import { after } from "next/server";
import { runGeneration } from "@/lib/generation";
import { auth } from "@/lib/herald";

// Starts a generation in the visitor's project and answers with its ids at once; its events
// follow on project.{projectId} and file.{fileId}.
export async function POST() {
  const token = (await cookies()).get("herald_token")?.value ?? "";
  let projectId: string;
  try {
    projectId = (await auth.authenticate(token)).subject;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return Response.json(
      { error: { code: "unauthorized", message: `${reason} Sign in first: POST /api/token.` } },
      { status: 401 },
    );
  }
  const generation = { projectId, taskId: randomUUID(), fileId: randomUUID() };
  after(() => runGeneration(generation)); // once the answer is sent
  return Response.json(generation, { status: 202 });
}
