// app/page.tsx
import { GenerationDemo } from "./generation-demo";

export default function Home() {
  return (
    <main>
      <h1>Herald in Next.js</h1>
      <GenerationDemo />
    </main>
  );
}
