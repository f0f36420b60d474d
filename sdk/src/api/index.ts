/**
 * `@metronome/sdk/api`: the code generated from the protobuf contract (messages, their schemas,
 * enums and service descriptors), for tools that call the services directly through
 * `MetronomeClient`'s typed clients and print or convert their messages (`toJson(JobSchema, job)`).
 * Services use the main entry instead.
 */
export * from "../gen/metronome/v1/cluster_service_pb.js";
export * from "../gen/metronome/v1/event_pb.js";
export * from "../gen/metronome/v1/event_service_pb.js";
export * from "../gen/metronome/v1/job_pb.js";
export * from "../gen/metronome/v1/job_service_pb.js";
export * from "../gen/metronome/v1/key_service_pb.js";
export * from "../gen/metronome/v1/run_pb.js";
export * from "../gen/metronome/v1/run_service_pb.js";
export * from "../gen/metronome/v1/scheduler_pb.js";
export * from "../gen/metronome/v1/scheduler_service_pb.js";
export * from "../gen/metronome/v1/trigger_pb.js";
export * from "../gen/metronome/v1/trigger_service_pb.js";
export * from "../gen/metronome/v1/worker_pb.js";
export * from "../gen/metronome/v1/worker_service_pb.js";
