/**
 * Serves one function target of the controller on 127.0.0.1 only: the Functions Framework's
 * own server for the compiled `dist/src/index.js`, as on Google Cloud, bound to loopback
 * (the framework's CLI listens on every interface).
 *   node dist/local/function-host.js --target=dropdeployApi --port=8080
 */
import {join} from 'node:path';

function arg(name: string): string {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  if (!hit) throw new Error(`--${name}= is required`);
  return hit.slice(name.length + 3);
}

const target = arg('target');
const port = Number(arg('port'));
require(join(__dirname, '..', 'src', 'index.js'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const {getTestServer} = require('@google-cloud/functions-framework/testing') as {getTestServer(name: string): import('node:http').Server};
const server = getTestServer(target);
server.listen(port, '127.0.0.1', () => console.log(`${target} listening on http://127.0.0.1:${port}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
