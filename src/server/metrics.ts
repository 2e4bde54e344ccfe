/** Prometheus metrics (prom-client), in a registry of the server's own so several servers can run in one process. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "kerasless_requests_total",
    help: "HTTP requests answered, by protocol, model and status code",
    labelNames: ["protocol", "model", "code"] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: "kerasless_request_duration_seconds",
    help: "Time from a request's arrival to its response's end, by protocol and model",
    labelNames: ["protocol", "model"] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  readonly batchRows = new Histogram({
    name: "kerasless_batch_rows",
    help: "Rows per predict sent to a model's thread (dynamic batching combines requests)",
    labelNames: ["model"] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [this.registry],
  });
  readonly batchRequests = new Histogram({
    name: "kerasless_batch_requests",
    help: "Requests combined into one predict",
    labelNames: ["model"] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });
  readonly sessions = new Gauge({
    name: "kerasless_live_sessions",
    help: "Stream sessions alive now",
    registers: [this.registry],
  });
  readonly queued: Gauge<"model">;
  readonly restarts = new Counter({
    name: "kerasless_worker_restarts_total",
    help: "Model worker threads that died and were replaced",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });

  /** `queuedOf` tells, when metrics are read, how many requests wait for a batch per model. */
  constructor(queuedOf: () => Iterable<[string, number]>) {
    this.queued = new Gauge({
      name: "kerasless_queued_requests",
      help: "Requests waiting for a batch, by model",
      labelNames: ["model"] as const,
      registers: [this.registry],
      collect() {
        for (const [model, n] of queuedOf()) this.set({ model }, n);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: "kerasless_" });
  }
}
