import type { DragEvent } from "react";
import type { NodeType } from "../../lib/types";

export const DRAG_TYPE = "application/x-flowbuilder-node";

export function Palette({ nodeTypes, onAdd }: { nodeTypes: NodeType[]; onAdd: (type: string) => void }) {
  const families = new Map<string, NodeType[]>();
  for (const type of nodeTypes) families.set(type.family, [...(families.get(type.family) ?? []), type]);
  const start = (event: DragEvent<HTMLButtonElement>, type: string) => {
    event.dataTransfer.setData(DRAG_TYPE, type);
    event.dataTransfer.effectAllowed = "move";
  };
  return (
    <nav aria-label="Node palette" className="space-y-3">
      <p className="text-xs text-gray-700 dark:text-gray-300">Drag a node onto the canvas, or press it to add it.</p>
      {[...families].map(([family, types]) => (
        <section key={family} aria-label={family}>
          <h3 className="mb-1 text-xs font-semibold uppercase tracking-wide text-gray-700 dark:text-gray-300">{family}</h3>
          <ul className="flex flex-wrap gap-1 lg:flex-col">
            {types.map((type) => (
              <li key={type.name}>
                <button
                  type="button"
                  draggable
                  data-testid={`palette-${type.name}`}
                  onDragStart={(event) => start(event, type.name)}
                  onClick={() => onAdd(type.name)}
                  title={type.description}
                  className="w-full cursor-grab rounded-md border border-gray-300 bg-white px-2 py-1 text-left text-sm hover:border-indigo-500 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:border-gray-600 dark:bg-gray-800"
                >
                  <span className="font-medium">{type.name.split(".")[1]}</span>
                  <span className="ml-1 text-xs text-gray-700 dark:text-gray-300">
                    {type.cost ? `${type.cost} cr` : "free"}
                    {type.lane === "browser" ? " · browser" : ""}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
    </nav>
  );
}
