import { GenerationDemo } from "./generation-demo";

export default function Home() {
  return (
    <main>
      <h1>Herald in Next.js</h1>
      <p>
        A fake image generation publishes its progress with <code>hub.publish</code> in a route
        handler; this page follows it twice over one EventSource: with <code>useChannel</code> on
        the project&apos;s channel, and with the WebSocket-era <code>useImageSSE</code> on the
        file&apos;s.
      </p>
      <GenerationDemo />
    </main>
  );
}
