"""One package per resource kind (`reconciler.resources.<kind>`), each declared once by its
`DESCRIPTOR` and listed in `reconciler.resources.registry`; `base` is the protocol they implement."""
