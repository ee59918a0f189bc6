/**
 * The migrating app's call sites (`../shared/design/LEGACY_HOOKS.md`), written in the forms its
 * files use, with only the import changed to `@herald/react`. Compiled by `tsc -p` in
 * `../legacy-call-sites.test.ts`; every `@ts-expect-error` line is a call that must not compile.
 */
import {
  type ArtifactEventHandler,
  type ArtifactSSEMessage,
  type ImageEventHandler,
  type ImageSSEMessage,
  useArtifactSSE,
  useChatImageSSE,
  useChatImageWebSocket,
  useChatImageWebsocket,
  useChatVideoSSE,
  useImageSSE,
  useImageWebsocket,
  useVideoSSE,
  type VideoEventHandler,
} from "@herald/react";
import { useCallback, useMemo, useState } from "react";

// The AI SDK's useChat helpers, as `components/chat.tsx` has them (`@ai-sdk/react`, v4).
interface TextUIPart {
  type: "text";
  text: string;
}
interface ReasoningUIPart {
  type: "reasoning";
  reasoning: string;
}
interface Message {
  id: string;
  createdAt?: Date;
  content: string;
  role: "system" | "user" | "assistant" | "data";
  parts?: Array<TextUIPart | ReasoningUIPart>;
}
interface UseChatHelpers {
  messages: Message[];
  setMessages: (messages: Message[] | ((messages: Message[]) => Message[])) => void;
}
declare function useChat(options: { id: string }): UseChatHelpers;

/** artifacts/image/client.tsx */
export function ImageArtifact({ content }: { content: string }) {
  // biome-ignore lint/suspicious/noExplicitAny: the app's parsed content is any
  const parsedContent: any = JSON.parse(content);
  const { status, projectId, requestId } = parsedContent || {};
  const [, setLocalContent] = useState(content);
  // biome-ignore lint/suspicious/noExplicitAny: as the app writes it
  const updateContent = useCallback((next: any) => setLocalContent(JSON.stringify(next)), []);
  const { isConnected, connectionAttempts, maxAttempts, disconnect } = useImageSSE({
    fileId: projectId,
    eventHandlers: useMemo(
      () => [
        // biome-ignore lint/suspicious/noExplicitAny: as the app writes it
        (message: any) => {
          if (message.type === "file" && message.object?.url) {
            updateContent({ ...parsedContent, status: "completed", imageUrl: message.object.url });
          } else if (message.type === "render_progress" && message.object?.progress !== undefined) {
            setLocalContent(
              JSON.stringify({ ...parsedContent, progress: message.object.progress }),
            );
          } else if (
            message.type === "render_result" &&
            (message.object?.url || message.object?.file_url)
          ) {
            updateContent({ imageUrl: message.object.url || message.object.file_url });
          }
        },
      ],
      [updateContent, parsedContent],
    ),
    enabled: !!projectId && status !== "completed" && !!requestId,
  });
  const attempts: number = connectionAttempts + maxAttempts;
  const connected: boolean = isConnected;
  const stop: () => void = disconnect;
  return <p>{`${attempts} ${connected} ${typeof stop}`}</p>;
}

/** app/tools/video-generator/hooks/use-video-generator.ts */
export function useVideoGenerator() {
  const [currentFileId] = useState<string>("");
  const [isGenerating] = useState(false);
  const [progress, setProgress] = useState(0);
  const requestIdRef = { current: "" };
  const eventHandlers = [
    // biome-ignore lint/suspicious/noExplicitAny: as the app writes it
    (event: any) => {
      if (event.type === "render_progress") {
        setProgress(Math.round((event.progress || 0) * 100));
        const message: string = event.data?.message || "Processing video...";
        void message;
      }
      if (event.type === "file" && event.object?.url) {
        const videoUrl: string = event.object?.url || event.url;
        void videoUrl;
      }
      if (event.type === "error") void (event.error || "Video generation failed");
    },
  ];
  const { isConnected, disconnect } = useVideoSSE({
    projectId: currentFileId,
    eventHandlers,
    enabled: isGenerating && !!currentFileId,
    requestId: requestIdRef.current,
  });
  return { isConnected, disconnect, progress };
}

/** artifacts/video/client.tsx */
export function VideoArtifact({
  parsedContent,
}: {
  parsedContent: { fileId?: string; requestId?: string } | null;
}) {
  // biome-ignore lint/suspicious/noExplicitAny: as the app writes it
  const handleSSEMessage = useCallback((message: any) => {
    if (message.type === "file" && message.object?.url && message.object?.type === "video") {
      const shown: string = `${message.object.url.substring(0, 50)}...`;
      const thumbnail: string | undefined = message.object.thumbnail_url;
      void shown;
      void thumbnail;
    }
  }, []);
  const artifactSSE = useArtifactSSE({
    channel: parsedContent?.fileId ? `file.${parsedContent.fileId}` : "",
    eventHandlers: useMemo(
      () => (parsedContent?.fileId ? [handleSSEMessage] : []),
      [parsedContent?.fileId, handleSSEMessage],
    ),
    enabled: !!parsedContent?.fileId && !!parsedContent?.requestId,
  });
  return <p>{String(artifactSSE.isConnected)}</p>;
}

/** components/chat.tsx */
export function Chat({ id, isReadonly }: { id: string; isReadonly: boolean }) {
  const { messages, setMessages } = useChat({ id });
  const { connectToProject, disconnectFromProject, connectedProjects } = useChatImageSSE({
    chatId: id,
    messages,
    setMessages,
    enabled: !isReadonly,
  });
  const video = useChatVideoSSE({
    chatId: id,
    messages,
    setMessages,
    enabled: !isReadonly,
    onMessageUpdated: async (message, chatId) => {
      const saved: Message = message;
      await fetch("/api/save-message", { method: "POST", body: JSON.stringify({ chatId, saved }) });
    },
  });
  connectToProject("p1");
  disconnectFromProject("p1");
  video.connectToProject(`file.${"f1"}`);
  const projects: string[] = [...connectedProjects, ...video.connectedProjects];
  return <p>{projects.join(",")}</p>;
}

/** The WebSocket era: hooks/use-image-websocket.ts, hooks/use-chat-image-websocket.ts. */
export function WebSocketEraPage({ projectId, chatId }: { projectId: string; chatId: string }) {
  const { isConnected, connectionAttempts, maxAttempts, disconnect } = useImageWebsocket({
    projectId,
    eventHandlers: [
      (message) => {
        const progress: number | undefined = message.progress;
        const url: string = message.object.url.substring(0);
        void progress;
        void url;
      },
    ],
    enabled: true,
  });
  const { messages, setMessages } = useChat({ id: chatId });
  const chat = useChatImageWebSocket({ chatId, messages, setMessages });
  chat.forceConnectToProject(projectId);
  chat.cleanup();
  const followed: boolean = chat.isConnectedToProject(projectId) || chat.isConnected;
  const same = useChatImageWebsocket({ chatId, messages, setMessages, enabled: false });
  void same.connectedProjects;
  void disconnect;
  return <p>{`${isConnected} ${connectionAttempts} ${maxAttempts} ${followed}`}</p>;
}

/** The app's exported types, under their own names. */
export const typedHandlers: {
  image: ImageEventHandler;
  video: VideoEventHandler;
  artifact: ArtifactEventHandler;
} = {
  image: (eventData: ImageSSEMessage) => eventData.object?.url,
  video: (eventData) => eventData.requestId,
  artifact: (eventData: ArtifactSSEMessage) => eventData.object.thumbnail_url.substring(1),
};

/** The map form still compiles, and Herald's options beside the app's. */
export function MapForm({ fileId }: { fileId: string }) {
  useImageSSE({ fileId, eventHandlers: { render_progress: (m) => m.object.progress } });
  return null;
}

/** Calls that must not compile. */
export function WrongCalls() {
  // @ts-expect-error useImageSSE follows a file: it takes fileId, not projectId
  useImageSSE({ projectId: "p1", eventHandlers: [] });
  // @ts-expect-error useArtifactSSE needs its channel
  useArtifactSSE({ eventHandlers: [] });
  // @ts-expect-error a handler is a function, not a string
  useVideoSSE({ projectId: "f1", eventHandlers: ["render_progress"] });
  // @ts-expect-error the chat hooks need the chat's setMessages
  useChatImageSSE({ chatId: "c1", messages: [] });
  const result = useImageSSE({ fileId: "f1", eventHandlers: [] });
  // @ts-expect-error isConnected is a boolean
  const wrong: string = result.isConnected;
  return wrong;
}
