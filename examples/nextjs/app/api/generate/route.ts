import { randomUUID } from "node:crypto";
import { cookies } from "next/headers";
import { after } from "next/server";
import { runFakeGeneration } from "@/lib/fake-generation";
import { auth } from "@/lib/herald";

/**
 * Starts a (fake) image generation in the visitor's project and answers with its ids at once
 * (202); its events follow on `project.{projectId}` and `file.{fileId}` once the answer is sent.
 */
export async function POST(): Promise<Response> {
  const token = (await cookies()).get("herald_token")?.value;
  let projectId: string;
  try {
    if (token === undefined) throw new Error("No herald_token cookie.");
    projectId = (await auth.authenticate(token)).subject;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return Response.json(
      { error: { code: "unauthorized", message: `${reason} Sign in first: POST /api/token.` } },
      { status: 401 },
    );
  }

  const generation = { projectId, taskId: randomUUID(), fileId: randomUUID() };
  // Runs once the answer is sent; Next.js logs a failure of it as it logs a failed request.
  after(() => runFakeGeneration(generation));
  return Response.json(generation, { status: 202 });
}
