// Ordinary work through a Skep write port with ioredis 5 (npm; .ci/install-node-clients), for ClientLibrariesIT:
// appends a counter to the list log:ioredis with one client for the whole run (ioredis reconnects by itself, and
// re-sends the commands it had in flight); the loop and its output are work_loop.js's. With --tls-ca, --tls-cert
// and --tls-key (PEM files) it connects over TLS, presenting that certificate and checking the port's against that
// CA (and against 127.0.0.1, as Node does by default).
const fs = require('fs');
const Redis = require('ioredis');
const { arg, describe, run } = require('./work_loop');

async function main() {
  const options = { host: '127.0.0.1', port: Number(arg('port')), retryStrategy: (times) => Math.min(times * 50, 500) };
  if (arg('tls-ca')) {
    options.tls = {
      ca: fs.readFileSync(arg('tls-ca')),
      cert: fs.readFileSync(arg('tls-cert')),
      key: fs.readFileSync(arg('tls-key')),
    };
  }
  const client = new Redis(options);
  client.on('error', (e) => console.log(`event-error ${describe(e)}`));
  await run((v) => client.rpush('log:ioredis', v), () => client.lrange('log:ioredis', -5, -1));
  client.disconnect();
}

main().then(() => process.exit(0), (e) => { console.log(`fatal ${e}`); process.exit(1); });
