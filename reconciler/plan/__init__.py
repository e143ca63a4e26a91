"""The pure planning core: normalisation, typed deltas, plan steps. No I/O."""
