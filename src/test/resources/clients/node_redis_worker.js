// Ordinary work through a Skep write port with node-redis 5 (npm; .ci/install-node-clients), in RESP2 or RESP3
// (--resp), for ClientLibrariesIT.
// Appends a counter to the list log:node-redis (RPUSH) and reads it back now and then, one request every few
// milliseconds, with one client for the whole run (node-redis reconnects by itself). Prints `ok <n>` once RPUSH
// of n is acknowledged, `err <n> <Type>: <message>` when a request fails. Stops when the file --stop exists, or
// after --seconds.
const fs = require('fs');
const { createClient } = require('redis');

const arg = (name, dflt) => {
  const i = process.argv.indexOf('--' + name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const port = Number(arg('port'));
const stopFile = arg('stop');
const seconds = Number(arg('seconds', '90'));
const resp = Number(arg('resp', '2'));
const key = 'log:node-redis-resp' + resp;

async function main() {
  const client = createClient({
    RESP: resp,
    socket: { host: '127.0.0.1', port, reconnectStrategy: (retries) => Math.min(retries * 50, 500) },
  });
  client.on('error', (e) => console.log(`event-error ${e.constructor.name}: ${String(e.message).replace(/\n/g, ' ')}`));
  await client.connect();
  const deadline = Date.now() + seconds * 1000;
  let n = 0;
  while (Date.now() < deadline && !fs.existsSync(stopFile)) {
    n += 1;
    try {
      await client.rPush(key, String(n));
      if (n % 20 === 0) {
        await client.lRange(key, -5, -1);
      }
      console.log(`ok ${n}`);
    } catch (e) {
      console.log(`err ${n} ${e.constructor.name}: ${String(e.message).replace(/\n/g, ' ')}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  client.destroy();
}

main().then(() => process.exit(0), (e) => { console.log(`fatal ${e}`); process.exit(1); });
