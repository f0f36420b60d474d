/** A path under /ui/ that is no page of the dashboard. */
import { Link } from "react-router";

export function NotFoundPage() {
  return (
    <section>
      <h1>No such page</h1>
      <p>
        <Link to="/">Back to the jobs</Link>
      </p>
    </section>
  );
}
