// A charging station written with the npm package ocpp-rpc in strict mode (every message
// schema-validated both ways), driven line by line by tests/e2e/test_ocpp_rpc.py.
// Usage: node station.js <endpoint> <identity> <ocpp1.6|ocpp2.0.1>
// stdin: one JSON command per line: {"id": n, "action": "...", "params": {...}} or {"op": "close"}
// stdout: one JSON event per line: connected, result/error (per id), csms-call, closed, failed.
'use strict';

const path = require('path');
const readline = require('readline');
const { RPCClient } = require(path.join(__dirname, '..', '..', 'interop', 'node', 'node_modules', 'ocpp-rpc'));

const [endpoint, identity, protocol] = process.argv.slice(2);
const v16 = protocol === 'ocpp1.6';

function report(event, data) {
  process.stdout.write(JSON.stringify({ event, ...data }) + '\n');
}

// Answers to CSMS-initiated calls, as a charger would give them.
const ANSWERS = v16 ? {
  RemoteStartTransaction: { status: 'Accepted' },
  RemoteStopTransaction: { status: 'Accepted' },
  Reset: { status: 'Accepted' },
  UnlockConnector: { status: 'Unlocked' },
  ChangeAvailability: { status: 'Accepted' },
  TriggerMessage: { status: 'Accepted' },
  ClearCache: { status: 'Accepted' },
  ChangeConfiguration: { status: 'Accepted' },
  GetConfiguration: { configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '300' }] },
} : {
  RequestStartTransaction: { status: 'Accepted' },
  RequestStopTransaction: { status: 'Accepted' },
  Reset: { status: 'Accepted' },
  UnlockConnector: { status: 'Unlocked' },
  ChangeAvailability: { status: 'Accepted' },
  TriggerMessage: { status: 'Accepted' },
  ClearCache: { status: 'Accepted' },
  SetVariables: null, // built from the request below
  GetVariables: null,
};

async function main() {
  const client = new RPCClient({
    endpoint,
    identity,
    protocols: [protocol],
    strictMode: true,
    reconnect: false,
  });

  for (const action of Object.keys(ANSWERS)) {
    client.handle(action, ({ params }) => {
      report('csms-call', { action, params });
      if (action === 'SetVariables') {
        return {
          setVariableResult: params.setVariableData.map((d) => ({
            attributeStatus: 'Accepted', component: d.component, variable: d.variable,
          })),
        };
      }
      if (action === 'GetVariables') {
        return {
          getVariableResult: params.getVariableData.map((d) => ({
            attributeStatus: 'Accepted', component: d.component, variable: d.variable,
            attributeValue: '300',
          })),
        };
      }
      return ANSWERS[action];
    });
  }

  await client.connect();
  report('connected', { protocol: client.protocol });

  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const command = JSON.parse(line);
    if (command.op === 'close') break;
    try {
      const result = await client.call(command.action, command.params);
      report('result', { id: command.id, result });
    } catch (err) {
      report('error', { id: command.id, code: err.rpcErrorCode, message: err.message });
    }
  }
  await client.close({ code: 1000 });
  report('closed', {});
  process.exit(0);
}

main().catch((err) => {
  report('failed', { message: String((err && err.stack) || err) });
  process.exit(1);
});
