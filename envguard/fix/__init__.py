"""`envguard fix`: plan the moves that end drift and out-of-range plugins, then apply them with
each service's own tool (see `plan`, `apply` and the README's "envguard fix")."""
