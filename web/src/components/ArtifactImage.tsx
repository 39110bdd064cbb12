import { useEffect, useState } from "react";
import { apiUrl, authHeaders } from "../lib/api";

/** An artifact's image (a browser step's screenshot). `<img>` cannot send the Bearer token, so the
 * bytes are fetched and shown from a blob URL. */
export function ArtifactImage({ artifactId, alt }: { artifactId: string; alt: string }) {
  const [src, setSrc] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let url: string | null = null;
    let live = true;
    (async () => {
      try {
        const response = await fetch(apiUrl(`/artifacts/${artifactId}`), { headers: await authHeaders() });
        if (!response.ok) throw new Error(String(response.status));
        const blob = await response.blob();
        if (!blob.type.startsWith("image/")) throw new Error("not an image");
        url = URL.createObjectURL(blob);
        if (live) setSrc(url);
      } catch {
        if (live) setFailed(true);
      }
    })();
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [artifactId]);
  if (failed) return null;
  if (!src) return <span className="text-xs">Loading image…</span>;
  return <img src={src} alt={alt} className="max-h-96 max-w-full rounded border border-gray-200 dark:border-gray-700" />;
}

/** Artifact ids in a step's output: any `artifact_id` field, at any depth. */
export function artifactIds(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((item) => artifactIds(item, found));
  else if (value && typeof value === "object") {
    for (const [key, inner] of Object.entries(value)) {
      if ((key === "artifact_id" || key.endsWith("_artifact_id")) && typeof inner === "string") found.push(inner);
      else artifactIds(inner, found);
    }
  }
  return found;
}
