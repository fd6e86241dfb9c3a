"""One module per output format; each renders a finished result and never recomputes it."""
