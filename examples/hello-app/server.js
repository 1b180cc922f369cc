// A plain Node.js HTTP server, as Cloud Run runs it: listen on $PORT, answer every request.
const http = require('node:http');

const greeting = process.env.GREETING || 'Hello from dropdeploy';
const version = process.env.APP_VERSION || 'v1';

http
  .createServer((req, res) => {
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end(`${greeting} (${version}) — revision ${process.env.K_REVISION || 'local'}\n`);
  })
  .listen(Number(process.env.PORT || 8080), () => {
    console.log(`hello-app ${version} listening on ${process.env.PORT || 8080}`);
  });
