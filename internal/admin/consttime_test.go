package admin

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"
)

// TestAdminTokenComparedInConstantTime pins, in the source, that the
// bearer token is checked with subtle.ConstantTimeCompare and never with
// == or != against anything but "" (whose timing would reveal a guess's
// correct prefix).
func TestAdminTokenComparedInConstantTime(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "admin.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	isToken := func(e ast.Expr) bool {
		sel, ok := e.(*ast.SelectorExpr)
		return ok && sel.Sel.Name == "token"
	}
	constant := 0
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CallExpr:
			sel, ok := x.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "ConstantTimeCompare" {
				return true
			}
			if pkg, _ := sel.X.(*ast.Ident); pkg != nil && pkg.Name == "subtle" {
				ast.Inspect(x, func(m ast.Node) bool {
					if e, ok := m.(ast.Expr); ok && isToken(e) {
						constant++
					}
					return true
				})
			}
		case *ast.BinaryExpr:
			empty := func(e ast.Expr) bool { l, ok := e.(*ast.BasicLit); return ok && l.Value == `""` }
			// s.token == "" (is the API on?) compares nothing secret.
			if (x.Op == token.EQL || x.Op == token.NEQ) && (isToken(x.X) && !empty(x.Y) || isToken(x.Y) && !empty(x.X)) {
				t.Errorf("%s: the admin token is compared with %s", fset.Position(x.Pos()), x.Op)
			}
		}
		return true
	})
	if constant != 1 {
		t.Fatalf("found %d subtle.ConstantTimeCompare calls on the token, want 1", constant)
	}
}
