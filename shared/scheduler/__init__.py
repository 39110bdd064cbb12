"""The schedule tick and its "next wake" gate (ARCHITECTURE.md, "Waking the scheduler").

`run_tick` is imported from `shared.scheduler.tick` by its callers; this package's import stays
free of the database so API code can lower the gate cheaply."""

from shared.scheduler.gate import FileGate, NextWakeGate, gate_for, lower_next_wake

__all__ = ["FileGate", "NextWakeGate", "gate_for", "lower_next_wake"]
