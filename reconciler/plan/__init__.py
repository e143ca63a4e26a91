"""The pure planning core: normalisation, typed deltas, the keyed-children diff, plan steps. No I/O."""
