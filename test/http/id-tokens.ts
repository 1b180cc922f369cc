/**
 * Test ID tokens: an RSA key of our own, its public key served as Google serves its PEM
 * certificates (`{kid: pem}`), and RS256 JWTs signed with it.
 */
import {generateKeyPairSync, sign} from 'node:crypto';
import {createServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';

/** A signing key and the URL that serves its public half. */
export interface TokenIssuer {
  certsUrl: string;
  /** A signed token with Google's claims; `claims` override them. */
  token(claims: Record<string, unknown>): string;
  close(): Promise<void>;
}

/** Starts a certs server on loopback. */
export async function startTokenIssuer(): Promise<TokenIssuer> {
  const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048});
  const kid = 'test-key-1';
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, {'content-type': 'application/json', 'cache-control': 'public, max-age=300'});
    res.end(JSON.stringify({[kid]: publicKey.export({type: 'spki', format: 'pem'})}));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const b64 = (x: object) => Buffer.from(JSON.stringify(x)).toString('base64url');
  return {
    certsUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/certs`,
    token: (claims) => {
      const now = Math.floor(Date.now() / 1000);
      const head = b64({alg: 'RS256', kid, typ: 'JWT'});
      const body = b64({iss: 'https://accounts.google.com', iat: now, exp: now + 600, sub: '1', email_verified: true, ...claims});
      const signature = sign('RSA-SHA256', Buffer.from(`${head}.${body}`), privateKey).toString('base64url');
      return `${head}.${body}.${signature}`;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
