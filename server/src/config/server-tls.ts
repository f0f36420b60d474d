/**
 * The node's own certificate and key (METRONOME_TLS_CERT, METRONOME_TLS_KEY), checked at start-up
 * before the store is opened: a file that cannot be read, holds no PEM certificate or key, or a key
 * that is not the certificate's stops the start with a ConfigError naming the key — instead of
 * the TLS library's message (`PEM routines::no start line`) once the store was opened and migrated.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { ConfigError } from "./load.js";
import { readConfigFile } from "./files.js";

const CERT_KEY = "METRONOME_TLS_CERT";
const KEY_KEY = "METRONOME_TLS_KEY";

const fail = (key: string, message: string): never => {
  throw new ConfigError([{ key, message, source: null }]);
};

/** Throws ConfigError unless `certFile` holds a certificate and `keyFile` its private key. */
export function checkServerTls(certFile: string, keyFile: string): void {
  const certText = readConfigFile(CERT_KEY, certFile);
  const keyText = readConfigFile(KEY_KEY, keyFile);
  let cert: X509Certificate | undefined;
  try {
    cert = new X509Certificate(certText);
  } catch {
    fail(CERT_KEY, `${certFile}: no PEM certificate in it`);
  }
  let key: KeyObject | undefined;
  try {
    key = createPrivateKey(keyText);
  } catch {
    fail(KEY_KEY, `${keyFile}: no PEM private key in it (an encrypted key is not supported)`);
  }
  if (cert !== undefined && key !== undefined && !cert.checkPrivateKey(key))
    fail(KEY_KEY, `${keyFile}: not the private key of the certificate in ${certFile}`);
}
