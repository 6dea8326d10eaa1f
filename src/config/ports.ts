import * as net from 'node:net';
import { StartupError } from './startup-error';

/** Where a port comes from, for the message: `PORT` (with `HOST`) or `EMBEDDED_DB_PORT`. */
export interface PortSetting {
  host: string;
  port: number;
  /** The variable that sets the port. */
  variable: string;
  /** The variable that sets the host, if the operator chose it. */
  hostVariable?: string;
  /** What is meant to listen there, e.g. "the embedded PostgreSQL". */
  what: string;
}

/**
 * The one line for a failed listen (EADDRINUSE, EACCES, EADDRNOTAVAIL, a HOST that does not
 * resolve), or undefined for an error that is not about the address.
 */
export function listenProblem(err: unknown, at: PortSetting): StartupError | undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code ?? '';
  const where = `${at.host}:${at.port}`;
  switch (code) {
    case 'EADDRINUSE':
      return new StartupError(
        `Port ${at.port} on ${at.host} is already in use, so ${at.what} cannot listen there (${at.variable}); stop what listens on ${where} or set ${at.variable} to a free port`,
      );
    case 'EACCES':
      return new StartupError(
        `Port ${at.port} on ${at.host} needs privileges this process lacks, so ${at.what} cannot listen there (${at.variable}); set ${at.variable} to 1024 or above`,
      );
    case 'EADDRNOTAVAIL':
      return new StartupError(
        `${at.host} is not an address of this machine, so ${at.what} cannot listen there (${at.hostVariable ?? 'HOST'}); use one of its addresses, or 0.0.0.0 for all`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StartupError(
        `${at.host} does not resolve to an address of this machine (${at.hostVariable ?? 'HOST'}); use an IP address, or 0.0.0.0 for all`,
      );
    default:
      return undefined;
  }
}

/**
 * Fails with listenProblem's line when the port cannot be listened on now. Checked before
 * anything is started for it, so a taken port costs no database start-up; the real listen
 * reports the same way if the port is taken in between.
 */
export async function assertCanListen(at: PortSetting): Promise<void> {
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: at.host, port: at.port, exclusive: true }, resolve);
    });
  } catch (err) {
    throw listenProblem(err, at) ?? err;
  }
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** host:port as a URL writes it (an IPv6 address in brackets). */
export function urlHost(host: string, port: number): string {
  return `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
}
