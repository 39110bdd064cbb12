/** Undo/redo of canvas edits: snapshots taken before each change. */
export class EditHistory<T> {
  private past: string[] = [];
  private future: string[] = [];

  constructor(private readonly limit = 100) {}

  /** Call before changing `current`; a snapshot equal to the last one is not stored twice. */
  record(current: T): void {
    const snapshot = JSON.stringify(current);
    if (this.past[this.past.length - 1] === snapshot) return;
    this.past.push(snapshot);
    if (this.past.length > this.limit) this.past.shift();
    this.future = [];
  }

  undo(current: T): T | null {
    const now = JSON.stringify(current);
    while (this.past.length) {
      const previous = this.past.pop()!;
      if (previous === now) continue;
      this.future.push(now);
      return JSON.parse(previous) as T;
    }
    return null;
  }

  redo(current: T): T | null {
    const next = this.future.pop();
    if (next === undefined) return null;
    this.past.push(JSON.stringify(current));
    return JSON.parse(next) as T;
  }

  get canUndo(): boolean {
    return this.past.length > 0;
  }

  get canRedo(): boolean {
    return this.future.length > 0;
  }
}
