import { describe, expect, it } from "vitest";
import { EditHistory } from "./history";

describe("EditHistory", () => {
  it("undoes and redoes in order", () => {
    const history = new EditHistory<number[]>();
    history.record([1]);
    history.record([1, 2]);
    expect(history.undo([1, 2, 3])).toEqual([1, 2]);
    expect(history.undo([1, 2])).toEqual([1]);
    expect(history.undo([1])).toBeNull();
    expect(history.redo([1])).toEqual([1, 2]);
    expect(history.redo([1, 2])).toEqual([1, 2, 3]);
    expect(history.redo([1, 2, 3])).toBeNull();
  });

  it("skips snapshots equal to the current state and drops the future on a new edit", () => {
    const history = new EditHistory<string>();
    history.record("a");
    history.record("a");
    history.record("b");
    expect(history.undo("b")).toBe("a");
    history.record("a");
    expect(history.canRedo).toBe(false);
  });
});
