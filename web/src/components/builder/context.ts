import { createContext, useContext } from "react";
import type { NodeType } from "../../lib/types";

export interface CanvasInfo {
  nodeTypes: Map<string, NodeType>;
  issues: Map<string, string[]>;
  /** Step statuses when the canvas shows a run. */
  statuses: Map<string, string> | null;
}

export const CanvasContext = createContext<CanvasInfo>({ nodeTypes: new Map(), issues: new Map(), statuses: null });

export const useCanvasInfo = () => useContext(CanvasContext);
