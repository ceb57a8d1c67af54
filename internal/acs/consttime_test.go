package acs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

// TestSignaturesComparedInConstantTime pins, in the source, that every
// signature the gateway computes is compared with equal, and that equal is
// hmac.Equal (constant time): a == on a signature would let response
// timing reveal how many leading bytes of a guess were right.
func TestSignaturesComparedInConstantTime(t *testing.T) {
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	// gateway.go routes a request; auth.go verifies its signature.
	gatewayFiles := []string{"gateway.go", "auth.go"}
	for _, name := range append([]string{"sign.go"}, gatewayFiles...) {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = f
	}
	// equal's body is exactly `return hmac.Equal(...)`.
	var equalOK bool
	ast.Inspect(files["sign.go"], func(n ast.Node) bool {
		fd, ok := n.(*ast.FuncDecl)
		if !ok || fd.Name.Name != "equal" {
			return true
		}
		if len(fd.Body.List) == 1 {
			if ret, ok := fd.Body.List[0].(*ast.ReturnStmt); ok && len(ret.Results) == 1 {
				if call, ok := ret.Results[0].(*ast.CallExpr); ok {
					if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
						x, _ := sel.X.(*ast.Ident)
						equalOK = x != nil && x.Name == "hmac" && sel.Sel.Name == "Equal"
					}
				}
			}
		}
		return false
	})
	if !equalOK {
		t.Fatal("sign.go: equal is not `return hmac.Equal(...)`")
	}
	// In the gateway, each SignV1/SignV3 result is an argument of equal,
	// and nothing compares with == or != against a signature or hash.
	signs := 0
	var stack []ast.Node
	for _, name := range gatewayFiles {
		ast.Inspect(files[name], func(n ast.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			defer func() { stack = append(stack, n) }()
			switch x := n.(type) {
			case *ast.CallExpr:
				id, ok := x.Fun.(*ast.Ident)
				if !ok || id.Name != "SignV1" && id.Name != "SignV3" {
					return true
				}
				signs++
				var pid *ast.Ident
				if parent, ok := stack[len(stack)-1].(*ast.CallExpr); ok {
					pid, _ = parent.Fun.(*ast.Ident)
				}
				if pid == nil || pid.Name != "equal" {
					t.Errorf("%s: the result of %s is not compared with equal", fset.Position(x.Pos()), id.Name)
				}
			case *ast.BinaryExpr:
				if x.Op != token.EQL && x.Op != token.NEQ {
					return true
				}
				for _, side := range []ast.Expr{x.X, x.Y} {
					if mentionsSignature(side) {
						t.Errorf("%s: a signature is compared with %s", fset.Position(x.Pos()), x.Op)
					}
				}
			}
			return true
		})
	}
	if signs != 2 {
		t.Fatalf("found %d SignV1/SignV3 calls in %v, want 2 (v1 and v3)", signs, gatewayFiles)
	}
}

// mentionsSignature reports whether e reads a signature: a.Signature,
// p["Signature"], or a call of SignV1/SignV3/HashPayload.
func mentionsSignature(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.SelectorExpr:
			found = found || x.Sel.Name == "Signature"
		case *ast.BasicLit:
			found = found || x.Value == `"Signature"`
		case *ast.Ident:
			found = found || x.Name == "SignV1" || x.Name == "SignV3" || x.Name == "HashPayload"
		}
		return !found
	})
	return found
}
