"""Background jobs, run by ``flask optiserve worker`` (an RQ worker inside an app context)."""
