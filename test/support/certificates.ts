/**
 * Certificates made in the test, with the `openssl` command line (3.0 or later, on PATH): a CA,
 * a server certificate for 127.0.0.1 and localhost signed by it, and client certificates with the
 * subject and subject alternative names a test asks for. The same commands as docs/security.md.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface KeyPair {
  /** The PEM files. */
  readonly certFile: string;
  readonly keyFile: string;
  /** Their contents. */
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface CertificateAuthority extends KeyPair {
  /** A certificate for 127.0.0.1 and localhost, for a TLS server. */
  server(): KeyPair;
  /**
   * A client certificate: `subject` as openssl writes it (`/CN=reports`), `altNames` as the
   * subjectAltName extension (`URI:spiffe://example.org/a,DNS:w1.internal`).
   */
  client(name: string, subject: string, altNames?: string): KeyPair;
}

/** A folder of certificates, removed by `remove()`. */
export interface CertificateFolder {
  readonly dir: string;
  authority(name: string): CertificateAuthority;
  remove(): void;
}

function openssl(args: readonly string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

function pair(certFile: string, keyFile: string): KeyPair {
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile) };
}

export function certificateFolder(): CertificateFolder {
  const dir = mkdtempSync(join(tmpdir(), "metronome-certs-"));
  const file = (name: string): string => join(dir, name);

  const authority = (ca: string): CertificateAuthority => {
    openssl([
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      file(`${ca}.key`),
      "-out",
      file(`${ca}.pem`),
      "-days",
      "2",
      "-subj",
      `/CN=${ca}`,
    ]);
    /** A certificate signed by this CA, valid for 2 days. */
    const sign = (name: string, subject: string, extensions: string): KeyPair => {
      openssl([
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        file(`${name}.key`),
        "-out",
        file(`${name}.csr`),
        "-subj",
        subject,
      ]);
      writeFileSync(file(`${name}.ext`), extensions);
      openssl([
        "x509",
        "-req",
        "-in",
        file(`${name}.csr`),
        "-CA",
        file(`${ca}.pem`),
        "-CAkey",
        file(`${ca}.key`),
        "-CAcreateserial",
        "-out",
        file(`${name}.pem`),
        "-days",
        "2",
        "-extfile",
        file(`${name}.ext`),
      ]);
      return pair(file(`${name}.pem`), file(`${name}.key`));
    };
    return {
      ...pair(file(`${ca}.pem`), file(`${ca}.key`)),
      server: () =>
        sign(
          `${ca}-server`,
          "/CN=localhost",
          "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        ),
      client: (name, subject, altNames) =>
        sign(
          name,
          subject,
          `basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n${altNames === undefined ? "" : `subjectAltName=${altNames}\n`}`,
        ),
    };
  };

  return {
    dir,
    authority,
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
