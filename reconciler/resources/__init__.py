"""One module per resource kind, each behind the protocol in reconciler.resources.base."""
