// A charging station written with ocpp-rpc in strict mode (schema validation of every message
// both ways), driven by tests/interop/test_ocpp_rpc_node.py against a Kilowatt server.
// Usage: node station.js <endpoint> <identity> <ocpp1.6|ocpp2.0.1> [password]
// Prints one JSON object per line on stdout, for the test to read.
'use strict';

const { RPCClient } = require('ocpp-rpc');

const [endpoint, identity, protocol, password] = process.argv.slice(2);
const v16 = protocol === 'ocpp1.6';

function report(event, data) {
  process.stdout.write(JSON.stringify({ event, ...data }) + '\n');
}

async function main() {
  const client = new RPCClient({
    endpoint,
    identity,
    protocols: [protocol],
    strictMode: true,
    password: password === undefined ? null : password,
    reconnect: false,
  });

  let resolveStarted;
  const started = new Promise((resolve) => { resolveStarted = resolve; });

  client.handle(v16 ? 'RemoteStartTransaction' : 'RequestStartTransaction', ({ params }) => {
    report('remote-start', { params });
    resolveStarted();
    return { status: 'Accepted' };
  });

  await client.connect();
  report('connected', { protocol: client.protocol });

  const boot = await client.call('BootNotification', v16
    ? { chargePointVendor: 'ocpp-rpc', chargePointModel: 'Strict' }
    : { chargingStation: { vendorName: 'ocpp-rpc', model: 'Strict' }, reason: 'PowerUp' });
  report('boot', { result: boot });

  const heartbeat = await client.call('Heartbeat', {});
  report('heartbeat', { result: heartbeat });

  await started;

  try {
    await client.call('Authorize', v16
      ? { idTag: 'BLOCKED' }
      : { idToken: { idToken: 'BLOCKED', type: 'ISO14443' } });
    report('authorize', { error: null });
  } catch (err) {
    report('authorize', { error: err.rpcErrorCode, message: err.message, details: err.details });
  }

  await client.close({ code: 1000 });
  report('closed', {});
}

main().catch((err) => {
  // httpStatus: the status of a refused WebSocket upgrade (ocpp-rpc's UnexpectedHttpResponse
  // carries the response), so that the test reads a number rather than the error's wording.
  const httpStatus = err && err.response ? err.response.statusCode : null;
  report('failed', { message: String(err && err.stack || err), httpStatus });
  process.exit(1);
});
