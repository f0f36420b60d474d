/**
 * The dependency rules of docs/development.md ("Layers and arrows"), checked by `npm run deps`
 * (part of `npm test`). A rule names what may NOT be imported; every rule is an error.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      comment: "No module imports itself through others: layers stay readable from the top down.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "sdk-not-server",
      comment: "The SDK is a package of its own: it never imports the server.",
      severity: "error",
      from: { path: "^sdk/src/" },
      to: { path: "^server/" },
    },
    {
      name: "server-not-sdk",
      comment:
        "The server never imports the SDK's source (each has its own generated code): only its package entries, `@metronome/sdk` and `@metronome/sdk/api`.",
      severity: "error",
      from: { path: "^server/src/" },
      to: { path: "^sdk/", pathNot: "^sdk/src/(index|api/index)[.]ts$" },
    },
    {
      name: "only-the-cli-uses-the-sdk",
      comment:
        "The operator commands (server/src/cli/) are clients of the server through the SDK; nothing else of the server uses it.",
      severity: "error",
      from: { path: "^server/src/", pathNot: "^server/src/cli/" },
      to: { path: "^sdk/" },
    },
    {
      name: "domain-is-pure",
      comment: "domain/ is pure: it imports nothing of ours outside domain/.",
      severity: "error",
      from: { path: "^server/src/domain/" },
      to: { path: "^server/src/", pathNot: "^server/src/domain/" },
    },
    {
      name: "lib-is-generic",
      comment: "lib/ holds generic utilities: it imports nothing else of ours.",
      severity: "error",
      from: { path: "^server/src/lib/" },
      to: { path: "^server/src/", pathNot: "^server/src/lib/" },
    },
    {
      name: "store-below-its-users",
      comment: "The store implements the port; it never imports the layers that use it.",
      severity: "error",
      from: { path: "^server/src/store/" },
      to: {
        path: "^server/src/(engine|dispatch|events|cluster|management|api|main|server|cli)([./]|$)",
      },
    },
    {
      name: "core-below-management",
      comment:
        "The engine, dispatch, the event log and the node registry use the store port and the domain, never management or the API.",
      severity: "error",
      from: { path: "^server/src/(engine|dispatch|events|cluster)/" },
      to: { path: "^server/src/(management|api|main|server|cli)([./]|$)" },
    },
    {
      name: "management-below-api",
      comment: "Management (the use cases) does not know the API that calls it.",
      severity: "error",
      from: { path: "^server/src/management/" },
      to: { path: "^server/src/(api|main|server|cli)([./]|$)" },
    },
    {
      name: "only-api-speaks-protobuf",
      comment:
        "Only the API layer touches Connect, protobuf and the generated code; below it, domain types. (The operator commands in cli/ print the SDK's messages with @bufbuild/protobuf.)",
      severity: "error",
      from: { path: "^server/src/", pathNot: "^server/src/(api|gen|cli)/" },
      to: { path: "^server/src/gen/|node_modules/@connectrpc/|node_modules/@bufbuild/" },
    },
    {
      name: "tracing-sdk-loaded-lazily",
      comment:
        "The OpenTelemetry SDK is loaded only when the node exports traces: tracing/start.ts imports tracing/sdk.ts dynamically, and only the SDK's files import its packages (the rest may use @opentelemetry/api).",
      severity: "error",
      from: { path: "^server/src/", pathNot: "^server/src/tracing/(sdk|chosen-ids)[.]ts$" },
      to: {
        path: "node_modules/@opentelemetry/(?!api/)|^server/src/tracing/(sdk|chosen-ids)[.]ts$",
        dependencyTypesNot: ["dynamic-import"],
      },
    },
    {
      name: "dashboard-uses-the-api-only",
      comment:
        "The dashboard (server/ui) is a client of the API: it imports its own files and the server's generated code, nothing else of ours.",
      severity: "error",
      from: { path: "^server/ui/src/" },
      to: { path: "^(server|sdk)/", pathNot: "^server/(ui/src|src/gen)/" },
    },
    {
      name: "server-not-dashboard",
      comment: "The server serves the dashboard's built files; it never imports its sources.",
      severity: "error",
      from: { path: "^server/src/" },
      to: { path: "^server/ui/" },
    },
    {
      name: "sdk-worker-not-client",
      comment: "The SDK's worker and client parts are independent of each other.",
      severity: "error",
      from: { path: "^sdk/src/worker/" },
      to: { path: "^sdk/src/client/" },
    },
    {
      name: "sdk-client-not-worker",
      comment: "The SDK's worker and client parts are independent of each other.",
      severity: "error",
      from: { path: "^sdk/src/client/" },
      to: { path: "^sdk/src/worker/" },
    },
    {
      name: "users-import-the-package",
      comment:
        "Examples, benchmarks and tests use the SDK as a service would: `@metronome/sdk` and `@metronome/sdk/testing` (unit tests of the SDK's own parts, and the benchmark of the worker's run table, excepted).",
      severity: "error",
      from: {
        path: "^(examples|bench|test)/",
        pathNot: "^(test/(unit|sdk)/|bench/worker-starts[.]ts$)",
      },
      to: { path: "^sdk/src/", pathNot: "^sdk/src/(index|testing/index)[.]ts$" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)dist/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
  },
};
