import { useEffect, useState } from "react";
import { api } from "./api";
import type { NodeType } from "./types";

let cached: Promise<NodeType[]> | null = null;

/** The registry's node types, fetched once per page load. */
export function useNodeTypes(): NodeType[] | null {
  const [types, setTypes] = useState<NodeType[] | null>(null);
  useEffect(() => {
    cached ??= api<NodeType[]>("/node-types").catch((error) => {
      cached = null;
      throw error;
    });
    let live = true;
    cached.then((value) => live && setTypes(value)).catch(() => live && setTypes([]));
    return () => {
      live = false;
    };
  }, []);
  return types;
}
