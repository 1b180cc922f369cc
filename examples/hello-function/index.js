// An HTTP function. dropdeploy builds it with GOOGLE_FUNCTION_TARGET=helloHttp when the
// archive is uploaded with the object metadata function-target=helloHttp.
const functions = require('@google-cloud/functions-framework');

functions.http('helloHttp', (req, res) => {
  const name = req.query.name || (req.body && req.body.name) || 'world';
  res.send(`Hello, ${name}! (a function deployed by dropdeploy)\n`);
});
