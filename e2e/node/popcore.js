// Drives a moat server with @alicloud/pop-core (the Node.js RPC client) and
// prints what it got as one JSON object; ../popcore_test.go asserts it.
//
// Environment:
//   MOAT_ENDPOINT            http://127.0.0.1:PORT
//   MOAT_ACCESS_KEY_ID       key pair of the account owning the instances
//   MOAT_ACCESS_KEY_SECRET
//   POPCORE_LIVE_ID          an instance that has not expired
//   POPCORE_EXPIRED_IDS      two expired instances, comma-separated: the
//                            first is released with GET, the second with POST
//
// For each method (GET, pop-core's default: everything in the query; POST:
// everything, Action and Signature included, in a form body) it runs
// ModifyInstanceRemark (remark with spaces and '*'), DescribeInstances with a
// Remark filter containing spaces (pop-core sends them as %20),
// ReleaseInstance of an expired instance, then two calls that must fail
// (ReleaseInstance of the live instance, and of the instance just released),
// and one call signed with a wrong secret. Errors are reported as
// {code, status} from pop-core's own error (err.code).
'use strict';

const RPCClient = require('@alicloud/pop-core');

function client(secret) {
  return new RPCClient({
    endpoint: process.env.MOAT_ENDPOINT,
    accessKeyId: process.env.MOAT_ACCESS_KEY_ID,
    accessKeySecret: secret,
    apiVersion: '2020-01-01',
  });
}

async function failure(promise) {
  try {
    const res = await promise;
    return { unexpectedSuccess: res };
  } catch (err) {
    const status = err.entry && err.entry.response ? err.entry.response.statusCode : null;
    return { code: err.code || null, status: status, message: String(err.message) };
  }
}

async function run(method, expiredId) {
  const c = client(process.env.MOAT_ACCESS_KEY_SECRET);
  const opts = method === 'POST' ? { method: 'POST' } : {};
  const live = process.env.POPCORE_LIVE_ID;
  const out = {};
  out.modify = await c.request('ModifyInstanceRemark',
    { InstanceId: live, Remark: `pop core ${method} * remark` }, opts);
  out.describe = await c.request('DescribeInstances',
    { PageNumber: 1, PageSize: 10, Remark: `core ${method} *`, InstanceIds: [live] }, opts);
  out.release = await c.request('ReleaseInstance', { InstanceId: expiredId }, opts);
  out.notExpired = await failure(c.request('ReleaseInstance', { InstanceId: live }, opts));
  out.releasedAgain = await failure(c.request('ReleaseInstance', { InstanceId: expiredId }, opts));
  out.wrongSecret = await failure(client('not-the-secret').request('DescribeInstances',
    { PageNumber: 1, PageSize: 10 }, opts));
  return out;
}

async function main() {
  const expired = (process.env.POPCORE_EXPIRED_IDS || '').split(',');
  if (expired.length !== 2) {
    throw new Error('POPCORE_EXPIRED_IDS must name two instances');
  }
  const result = {};
  result.GET = await run('GET', expired[0]);
  result.POST = await run('POST', expired[1]);
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err) => {
  process.stderr.write(`popcore.js: ${err.code || ''} ${err.stack || err}\n`);
  process.exit(1);
});
