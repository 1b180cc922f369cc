/**
 * Loopback port helpers of the local stack, in one place: every server it starts (emulators,
 * functions, revisions) takes a free port from the OS, and waits on it the same way.
 */
import {request} from 'node:http';
import {createServer, type AddressInfo} from 'node:net';

/** A loopback port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether something listens on `port` of 127.0.0.1 right now. */
function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

/** Waits until nothing listens on `port` (a killed JVM lets go of it a moment after its parent exits); gives up after `timeoutMs`. */
export async function waitPortFree(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await portInUse(port)) && Date.now() <= deadline) await new Promise((r) => setTimeout(r, 50));
}

/** Whether `GET http://127.0.0.1:<port>/` gets any HTTP response (any status) within `timeoutMs`. */
export function answersHttp(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({host: '127.0.0.1', port, path: '/', agent: false, timeout: Math.max(timeoutMs, 50)}, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
