/**
 * The bearer token this tab sends (when the server has METRONOME_AUTH_TOKENS), kept in
 * sessionStorage. Saving it refetches every page's data and restarts the event feed.
 */
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { readToken, saveToken, useToken } from "../token.js";

export function TokenField() {
  const queryClient = useQueryClient();
  const [value, setValue] = useState(readToken);
  const saved = useToken();
  return (
    <form
      className="token"
      onSubmit={(e) => {
        e.preventDefault();
        saveToken(value.trim());
        void queryClient.invalidateQueries();
      }}
    >
      <label>
        Token{" "}
        <input
          type="password"
          name="token"
          autoComplete="off"
          placeholder="none"
          value={value}
          onChange={(e) => {
            setValue(e.target.value);
          }}
        />
      </label>
      <button type="submit" disabled={value.trim() === saved}>
        Use
      </button>
    </form>
  );
}
