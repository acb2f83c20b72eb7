"""Looking inside a network: the layers it runs in order (:mod:`.tracing`), the per-layer
summary table (:mod:`.model_summary`), first-layer filters and feature maps
(:mod:`.figures`)."""
