"""Developer-side tools: local runtime (embedded AWS + HTTP API), in-process invoke, and the CLI.

Nothing here is shipped to Lambda; it reads template.yaml so the local stack and the deployed one
share one definition.
"""
