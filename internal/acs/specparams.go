package acs

import "moat/internal/moat"

// SpecParams names, for moat.Rename, the specification items of a
// purchase or a change (moat.BuyRequest.Params, moat.ModifyRequest.Params)
// as the answers of BSS CreateInstance and ModifyInstance name them: the
// list by its first code Parameter.1.Code, a code of any item
// Parameter.N.Code, and the item of a code as "Parameter <code>".
// ddoscoo's ModifyInstance, whose items are parameters of their own,
// answers with the same names.
var SpecParams = specParams()

func specParams() map[string]string {
	names := map[string]string{
		"Params.1.Code": "Parameter.1.Code",
		"Params.N.Code": "Parameter.N.Code",
	}
	for _, code := range moat.ParamCodes() {
		names[moat.ParamName(code)] = "Parameter " + code
	}
	return names
}
