package invite_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// TestEveryCodeHasAKind reads every Go file of the module and finds each constant declared as a Code: each must be
// in the domain's table of codes with a kind, so a new error code (from AWS, say) can never silently become a 500.
func TestEveryCodeHasAKind(t *testing.T) {
	root := filepath.Join("..", "..")
	found := map[invite.Code]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if !isCodeType(vs.Type, f.Name.Name) {
					continue
				}
				for i, v := range vs.Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Errorf("%s: code %s is not a string literal", path, vs.Names[i].Name)
						continue
					}
					s, _ := strconv.Unquote(lit.Value)
					found[invite.Code(s)] = path + ": " + vs.Names[i].Name
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) < 40 {
		t.Fatalf("found only %d codes; is the scan reading the module?", len(found))
	}
	for code, where := range found {
		if !code.Known() {
			t.Errorf("%s declares code %q, which has no kind in the domain's table", where, code)
		}
	}
	for _, code := range invite.Codes() {
		if _, ok := found[code]; !ok {
			t.Errorf("code %q is in the table but declared nowhere", code)
		}
	}
}

func isCodeType(e ast.Expr, pkg string) bool {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name == "Code" && pkg == "invite"
	case *ast.SelectorExpr:
		x, ok := t.X.(*ast.Ident)
		return ok && x.Name == "invite" && t.Sel.Name == "Code"
	}
	return false
}

func TestCodeKinds(t *testing.T) {
	for _, tc := range []struct {
		code invite.Code
		kind invite.ErrorKind
	}{
		{invite.CodeMalformedJSON, invite.KindInvalidRequest},
		{invite.CodeUnauthenticated, invite.KindUnauthenticated},
		{invite.CodeNotAssigned, invite.KindForbidden},
		{invite.CodeNotFound, invite.KindNotFound},
		{invite.CodeResendTooSoon, invite.KindConflict},
		{invite.CodeInvalidAccountID, invite.KindValidation},
		{invite.CodeDailyInviteLimit, invite.KindRateLimited},
		{invite.CodeAWSUnavailable, invite.KindUnavailable},
		{invite.CodeAWSAccessDenied, invite.KindUpstream},
		{invite.CodeInternal, invite.KindInternal},
		{invite.Code("no_such_code"), invite.KindInternal},
	} {
		if got := tc.code.ErrorKind(); got != tc.kind {
			t.Errorf("%s.ErrorKind() = %d, want %d", tc.code, got, tc.kind)
		}
	}
	codes := invite.Codes()
	if !slices.IsSorted(codes) || len(slices.Compact(slices.Clone(codes))) != len(codes) {
		t.Errorf("Codes() is not sorted and unique: %v", codes)
	}
	if invite.Code("no_such_code").Known() {
		t.Error("an unknown code is known")
	}
}
