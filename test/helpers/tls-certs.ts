import { execFileSync } from 'node:child_process';
import path from 'node:path';

export interface TestTls {
  /** The broker's PKCS12 key store (its key, its certificate, the CA). */
  keystore: string;
  password: string;
  /** The CA certificate in PEM, what clients trust. */
  caPem: string;
}

/**
 * A throwaway CA and a broker certificate for 127.0.0.1 (subject alternative name IP:127.0.0.1,
 * so clients verify the host), made with the JDK's keytool: nothing beyond Java 17 is needed.
 */
export function makeTestTls(dir: string, password: string): TestTls {
  const ca = path.join(dir, 'ca.p12');
  const keystore = path.join(dir, 'broker.p12');
  const caPem = path.join(dir, 'ca.pem');
  const csr = path.join(dir, 'broker.csr');
  const crt = path.join(dir, 'broker.crt');
  const keytool = (...args: string[]) => execFileSync('keytool', args, { stdio: 'pipe' });
  const store = (file: string) => ['-keystore', file, '-storetype', 'PKCS12', '-storepass', password];
  keytool('-genkeypair', '-alias', 'ca', '-dname', 'CN=spark-sync test CA', '-keyalg', 'RSA', '-keysize', '2048', '-validity', '2', '-ext', 'bc:c', ...store(ca));
  keytool('-exportcert', '-alias', 'ca', '-rfc', '-file', caPem, ...store(ca));
  keytool('-genkeypair', '-alias', 'broker', '-dname', 'CN=127.0.0.1', '-keyalg', 'RSA', '-keysize', '2048', '-validity', '2', ...store(keystore));
  keytool('-certreq', '-alias', 'broker', '-file', csr, ...store(keystore));
  keytool('-gencert', '-alias', 'ca', '-infile', csr, '-outfile', crt, '-ext', 'SAN=IP:127.0.0.1', '-validity', '2', '-rfc', ...store(ca));
  keytool('-importcert', '-alias', 'ca', '-file', caPem, '-noprompt', ...store(keystore));
  keytool('-importcert', '-alias', 'broker', '-file', crt, ...store(keystore));
  return { keystore, password, caPem };
}
