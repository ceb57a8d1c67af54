// Package moat is the domain of moat: instances and their lifecycle,
// accounts, AccessKeys, STS credentials and RAM decisions, billing orders,
// the audit log, server time, the Store contract the storage packages
// implement, and the error catalogue (Kind + Code) every layer answers
// with. It imports no other internal package.
//
// Its rules are split by who uses them, over one shared core (store, clock,
// IP pools, audit log, the RAM filter on listings):
//
//   - IdentityService: what the gateway checks before a call (keys,
//     nonces, STS tokens, Authorize) and the admin API provisions.
//   - InstanceService: the ddoscoo instance operations (describe, status,
//     remark, release, tags), creation through the admin API, the event log.
//   - BillingService: the BSS operations (buy, renew, modify, renewal
//     settings) and the billing views of instances.
//   - LifecycleService: the schedule of due transitions, purges, and server
//     time (MoveClock, LoadClock, SyncClock).
//   - AuditService: recording and reading the audit log.
//
// Every change goes through Store.Update (one write path); steps that
// several parts take, such as inserting or releasing an instance, are
// single functions over Tx. Service bundles the parts for the wiring in
// cmd/moat; a consumer declares, as an interface of its own, the few
// methods it calls. A new product adds a part (or uses one), not methods on
// a common type.
//
// Two clocks: server time (ServerClock.Now, which the admin API can move)
// drives everything a customer sees (expiry, events, audit records); the
// real clock (ServerClock.Real) bounds what must not be cheated by moving
// server time: signature timestamps, nonce and STS key retention, caches.
package moat
