"""What operators watch: Prometheus metrics (``/metrics``), liveness (``/healthz``) and
readiness (``/readyz``); docs/operations.md "Monitoring"."""
