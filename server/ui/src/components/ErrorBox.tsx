/** An API error as the API states it (code and message), or nothing. */
import { errorText } from "../api.js";

export function ErrorBox({ error }: { readonly error: unknown }) {
  if (error === null || error === undefined) return null;
  return (
    <p className="error" role="alert">
      {errorText(error)}
    </p>
  );
}
