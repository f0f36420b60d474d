/**
 * The dashboard's build: `server/ui/` (React) into `server/dist/ui`, served by the server at
 * `/ui/` (server/src/api/dashboard.ts). Run by `server/ui/build.ts`.
 */
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  base: "/ui/",
  plugins: [react()],
  logLevel: "warn",
  build: {
    outDir: "../dist/ui",
    emptyOutDir: true,
    sourcemap: true,
    // One bundle for the app and its libraries: a few hundred kB, cached for a year by hash.
    chunkSizeWarningLimit: 1000,
  },
});
