/**
 * The bearer token of this browser tab: kept in sessionStorage (it ends with the tab, and other
 * tabs ask for it again), with a hook that re-renders when it changes.
 */
import { useSyncExternalStore } from "react";

const KEY = "metronome.token";
const CHANGED = "metronome-token-changed";

export function readToken(): string {
  return sessionStorage.getItem(KEY) ?? "";
}

export function saveToken(token: string): void {
  if (token === "") sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, token);
  window.dispatchEvent(new Event(CHANGED));
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener(CHANGED, onChange);
  return () => {
    window.removeEventListener(CHANGED, onChange);
  };
}

/** The token now; components using it render again when it is saved. */
export function useToken(): string {
  return useSyncExternalStore(subscribe, readToken);
}
