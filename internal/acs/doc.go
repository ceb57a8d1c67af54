// Package acs is the wire: Alibaba Cloud's RPC-style API protocol as the
// official SDKs speak it. It decodes parameters from the query and a form
// body, verifies signature v1 (HMAC-SHA1) and v3 (ACS3-HMAC-SHA256), checks
// timestamps and nonces, routes Version+Action to a handler, and encodes
// JSON or XML success bodies and JSON error bodies with RequestIds.
//
// A product (ddoscoo, bss) registers each action once (Product.Actions,
// built with Handle or Listing): the handler, and through the tags and
// methods of its request struct the instances a call names and the region
// it addresses. The gateway decodes the request once; RAM, the audit
// record and the handler read that one decoded request.
//
// Protocol facts cited in comments come from Alibaba's "V2 RPC" and "V3"
// signature documents and from what the SDKs send; docs/DESIGN.md sums
// them up.
package acs
