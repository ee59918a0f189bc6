/**
 * The migrating app's components, reduced to their hook calls and what they show, written in
 * the forms of its files (`../shared/design/LEGACY_HOOKS.md`): only the import is
 * `@herald/react`. `any` is the app's own: its handlers are typed so.
 */
/* biome-ignore-all lint/suspicious/noExplicitAny: the app's handlers take `any`; this page keeps them as they are */
import { useArtifactSSE, useChatImageSSE, useImageSSE, useVideoSSE } from "@herald/react";
import { useCallback, useEffect, useMemo, useState } from "react";
import { record } from "./record.ts";

/** artifacts/image/client.tsx: an image artifact followed to its result with useImageSSE. */
export function ImageArtifact({ content: initial }: { content: string }) {
  const [localContent, setLocalContent] = useState(initial);
  const parsedContent = useMemo(() => JSON.parse(localContent), [localContent]);
  const { status, imageUrl, projectId, requestId, progress } = parsedContent || {};
  const updateContent = useCallback((newContent: any) => {
    setLocalContent(JSON.stringify(newContent));
  }, []);

  useImageSSE({
    fileId: projectId,
    eventHandlers: useMemo(
      () => [
        (message: any) => {
          if (
            message.type === "file" &&
            message.object?.url &&
            message.object?.contentType?.startsWith("image/")
          ) {
            updateContent({
              ...parsedContent,
              status: "completed",
              imageUrl: message.object.url,
              progress: 100,
            });
          } else if (message.type === "render_progress" && message.object?.progress !== undefined) {
            setLocalContent(
              JSON.stringify({
                ...parsedContent,
                status: "processing",
                progress: message.object.progress,
              }),
            );
          }
        },
      ],
      [updateContent, parsedContent],
    ),
    enabled: !!projectId && status !== "completed" && !!requestId,
  });

  if (status === "completed" && imageUrl) {
    return <img data-testid="image-result" src={imageUrl} alt="result" />;
  }
  return <p data-testid="image-status">{`${status} ${progress ?? 0}`}</p>;
}

/** app/tools/video-generator/hooks/use-video-generator.ts: progress from the top-level field. */
export function VideoGenerator({ fileId, requestId }: { fileId: string; requestId: string }) {
  const [currentFileId] = useState<string>(fileId);
  const [isGenerating, setIsGenerating] = useState(true);
  const [progress, setProgress] = useState(0);
  const [url, setUrl] = useState("");

  const eventHandlers = [
    (event: any) => {
      if (event.type === "render_progress") {
        const shown = Math.round((event.progress || 0) * 100);
        record("videoProgress", shown);
        setProgress(shown);
      }
      if (event.type === "file" && event.object?.url) {
        setUrl(event.object?.url || event.url);
        setIsGenerating(false);
      }
      if (event.type === "error") setIsGenerating(false);
    },
  ];

  useVideoSSE({
    projectId: currentFileId,
    eventHandlers,
    enabled: isGenerating && !!currentFileId,
    requestId,
  });

  return (
    <div>
      <progress data-testid="video-progress" value={progress} max={100} />
      {url ? <video data-testid="video-result" src={url} muted /> : null}
    </div>
  );
}

/** artifacts/video/client.tsx: a video artifact followed with useArtifactSSE on file.{id}. */
export function VideoArtifact({ content }: { content: string }) {
  const parsedContent = useMemo(() => JSON.parse(content), [content]);
  const [videoUrl, setVideoUrl] = useState("");

  const handleSSEMessage = useCallback((message: any) => {
    if (message.type === "file" && message.object?.url && message.object?.type === "video") {
      const url = message.object.url;
      record("artifactShortUrl", `${url.substring(0, 50)}...`);
      setVideoUrl(url);
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

  return (
    <div data-testid="artifact" data-connected={String(artifactSSE.isConnected)}>
      {videoUrl ? <video data-testid="artifact-video" src={videoUrl} muted /> : null}
    </div>
  );
}

interface ChatMessage {
  id: string;
  role: "user" | "assistant";
  content: string;
  parts: { type: "text"; text: string }[];
}

/** components/chat.tsx: a chat whose image artifact useChatImageSSE rewrites when done. */
export function Chat({ id, messages: initial }: { id: string; messages: ChatMessage[] }) {
  const [messages, setMessages] = useState(initial);
  const isReadonly = false;
  const { connectedProjects } = useChatImageSSE({
    chatId: id,
    messages,
    setMessages,
    enabled: !isReadonly,
    onMessageUpdated: (message, chatId) => record("saved", { chatId, id: message.id }),
  });
  return (
    <ul data-testid="chat" data-connected={connectedProjects.join(",")}>
      {messages.map((message) => (
        <li key={message.id} data-testid="chat-message" data-text={message.parts[0]?.text}>
          {message.role}
        </li>
      ))}
    </ul>
  );
}

/** One of several components showing the same file, each with its own fresh handler array. */
export function ImageViewer({ fileId, index }: { fileId: string; index: number }) {
  const [url, setUrl] = useState("");
  useImageSSE({
    fileId,
    eventHandlers: [
      (message) => {
        if (message.type === "file" && message.url) setUrl(message.url);
      },
    ],
    enabled: !url,
  });
  useEffect(() => {
    if (url) record("viewerDone", index);
  }, [url, index]);
  return url ? <img data-testid="viewer-result" src={url} alt={`viewer ${index}`} /> : null;
}
