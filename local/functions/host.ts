/**
 * Serves one function target of the controller on 127.0.0.1 only: the Functions Framework's
 * own server for the compiled `dist/src/index.js`, as on Google Cloud, bound to loopback
 * (the framework's CLI listens on every interface).
 *   node dist/local/functions/host.js --target=dropdeployApi --port=8080
 */
import {parseArgs} from 'node:util';
import {getTestServer} from '@google-cloud/functions-framework/testing';
// Registers the controller's functions with the framework, as the framework's own loader would.
import {preloaded} from '../../src/index';

function options(): {target: string; port: number} {
  const {values} = parseArgs({options: {target: {type: 'string'}, port: {type: 'string'}}});
  const port = Number(values.port);
  if (!values.target || !Number.isInteger(port) || port <= 0) {
    throw new Error('usage: node dist/local/functions/host.js --target=<function> --port=<port>');
  }
  return {target: values.target, port};
}

const {target, port} = options();
const server = getTestServer(target);
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// Like a min-instances function whose startup probe passes once it is warm: the stack sees the
// port open (and sends the first event) only after the clients are preloaded.
void preloaded.then(() => server.listen(port, '127.0.0.1', () => console.log(`${target} listening on http://127.0.0.1:${port}`)));
