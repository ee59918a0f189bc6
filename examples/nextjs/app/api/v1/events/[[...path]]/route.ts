// app/api/v1/events/[[...path]]/route.ts
import { handleEvents } from "@/lib/herald";

export const GET = handleEvents;
export const POST = handleEvents;
