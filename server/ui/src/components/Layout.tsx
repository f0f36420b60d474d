/** The frame of every page: the navigation, the token field and the page itself. */
import { NavLink, Outlet } from "react-router";
import { TokenField } from "./TokenField.js";

export function Layout() {
  return (
    <div className="app">
      <header className="top">
        <span className="brand">Metronome</span>
        <nav>
          <NavLink to="/" end>
            Jobs
          </NavLink>
          <NavLink to="/events">Events</NavLink>
          <NavLink to="/schedulers">Schedulers</NavLink>
          <NavLink to="/workers">Workers</NavLink>
          <NavLink to="/nodes">Nodes</NavLink>
        </nav>
        <TokenField />
      </header>
      <main>
        <Outlet />
      </main>
    </div>
  );
}
