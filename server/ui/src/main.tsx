/** The dashboard's entry: React, the query cache and the routes under /ui/. */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, RouterProvider } from "react-router";
import { Layout } from "./components/Layout.js";
import { EventsPage } from "./pages/EventsPage.js";
import { JobPage } from "./pages/JobPage.js";
import { JobsPage } from "./pages/JobsPage.js";
import { NodesPage } from "./pages/NodesPage.js";
import { NotFoundPage } from "./pages/NotFoundPage.js";
import { RunPage } from "./pages/RunPage.js";
import { SchedulersPage } from "./pages/SchedulersPage.js";
import { WorkersPage } from "./pages/WorkersPage.js";
import "./styles.css";

const queryClient = new QueryClient({
  defaultOptions: {
    // An error is shown as the API stated it, at once: no silent retries.
    queries: { retry: false, refetchOnWindowFocus: true },
  },
});

const router = createBrowserRouter(
  [
    {
      element: <Layout />,
      children: [
        { index: true, element: <JobsPage /> },
        { path: "jobs/:scheduler/:jobId", element: <JobPage /> },
        { path: "runs/:runId", element: <RunPage /> },
        { path: "events", element: <EventsPage /> },
        { path: "schedulers", element: <SchedulersPage /> },
        { path: "workers", element: <WorkersPage /> },
        { path: "nodes", element: <NodesPage /> },
        { path: "*", element: <NotFoundPage /> },
      ],
    },
  ],
  { basename: "/ui" },
);

const root = document.getElementById("root");
if (root === null) throw new Error("no #root element");
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
);
