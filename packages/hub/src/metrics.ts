import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** The figures of PROTOCOL.md section 9, in a registry of the hub's own. */
export function createHubMetrics(registry = new Registry()) {
  return {
    registry,
    openStreams: new Gauge({
      name: "herald_open_streams",
      help: "Event streams open now",
      registers: [registry],
    }),
    subscriptions: new Gauge({
      name: "herald_subscriptions",
      help: "Channel subscriptions of the open streams",
      registers: [registry],
    }),
    published: new Counter({
      name: "herald_events_published_total",
      help: "Events published",
      registers: [registry],
    }),
    delivered: new Counter({
      name: "herald_events_delivered_total",
      help: "Events written to live streams (one per stream per event)",
      registers: [registry],
    }),
    replayed: new Counter({
      name: "herald_events_replayed_total",
      help: "Events written from history on resume or from=start",
      registers: [registry],
    }),
    slowConsumersDropped: new Counter({
      name: "herald_slow_consumers_dropped_total",
      help: "Streams closed because their unsent bytes, and what they keep after conflation, passed limits.maxBufferedBytes",
      registers: [registry],
    }),
    streamsBehind: new Gauge({
      name: "herald_streams_behind",
      help: "Streams whose unsent bytes passed limits.behindBytes: their superseded render_progress events are conflated",
      registers: [registry],
    }),
    conflated: new Counter({
      name: "herald_events_conflated_total",
      help: "render_progress events never written to a stream that was behind, a newer one of the same task and channel taking their place",
      registers: [registry],
    }),
    rotated: new Counter({
      name: "herald_streams_rotated_total",
      help: "Streams the hub ended on purpose at their maximum age (maxStreamAgeMs); their clients resume at once",
      registers: [registry],
    }),
    publishToWrite: new Histogram({
      name: "herald_publish_to_write_seconds",
      help: "Time from publishing an event to writing it to every live stream of this server",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
  };
}

export type HubMetrics = ReturnType<typeof createHubMetrics>;
