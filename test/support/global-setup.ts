/**
 * Before any test file: the dashboard's build (server/dist/ui) is made when missing or stale, once
 * for the whole run, so that the Chromium test and every `npm start` a test runs find it ready
 * (and a clean clone needs no `npm run build` before `npm test`). Quick when it is fresh.
 */
import { buildDashboard } from "../../server/ui/build.js";

export default async function setup(): Promise<void> {
  await buildDashboard();
}
