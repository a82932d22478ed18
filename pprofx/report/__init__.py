"""pprofx.report: the analysis engine behind the CLI and web UI (consumes ``profile.Profile``)."""
