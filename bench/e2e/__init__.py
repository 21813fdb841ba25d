"""Modules of bench/run-e2e, the self-contained end-to-end load harness (standard library only).

  events     realistic core/v1 Events and Pods, pre-generated as JSON bytes
  tlsutil    a throw-away CA and a server certificate for 127.0.0.1 (openssl CLI)
  feeder     a fake Kubernetes API server over HTTPS: discovery, paged or single-response
             lists, watches, the watch-list protocol, involved-object lookups
  receivers  what the exporter ships to: a file tailed with inotify, or a fake Loki push
             endpoint (pure-Python snappy + protobuf reader); both report deliveries to a
             DeliveryTracker
  procstat   CPU seconds and peak RSS of a process from /proc, percentiles
"""
