package acs

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"moat/internal/moat"
)

// MaxListIndex bounds N in Name.N parameters.
const MaxListIndex = 1000

// Decode fills the struct pointed to by dst from flat RPC parameters.
//
// Fields are tagged `acs:"Name"`, with the options ",required" and
// ",resource" after the name. Supported types: string (absent is ""),
// CommaList, *string, int, *int, int64, *int64, *bool, []string and []int
// from Name.1 … Name.N, and []S from Name.N.Field where S is a struct whose
// fields are tagged the same way (one level).
// A required parameter that is absent or empty yields Missing{Name}; a value
// of the wrong shape yields InvalidParameter naming it. Unknown parameters
// are ignored, as the real gateway does.
//
// A field marked resource (a string, []string or CommaList) names the
// instances the call acts on: the gateway reads them from the decoded
// request for RAM and the audit record (see Action). A string field marked
// domain names a website, judged as the resource domain/<name>. A request
// whose parameters carry instance IDs inside a value (a JSON string)
// names them with a ResourceIDs method (see Resourced).
//
// Every field is decoded even after one fails, and the first failure in
// field order is returned: the gateway judges a RAM principal's call by
// the instances and region it names before it reports what else is wrong
// with it (see Gateway.authorize).
func Decode(params map[string]string, dst any) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return moat.Internal("decode", fmt.Errorf("acs.Decode needs a pointer to a struct, got %T", dst))
	}
	plan, err := planFor(v.Elem().Type())
	if err != nil {
		return moat.Internal("decode", err)
	}
	return plan.decode(params, "", v.Elem())
}

type fieldPlan struct {
	index    int
	name     string
	required bool
	resource bool
	// domain marks a resource field that names websites (",domain"):
	// RAM judges them as domain/<name>.
	domain bool
	kind   fieldKind
	elem   *structPlan // for struct lists
}

type fieldKind uint8

const (
	kString fieldKind = iota
	kCommaList
	kStringPtr
	kInt
	kIntPtr
	kInt64
	kInt64Ptr
	kBoolPtr
	kStringList
	kIntList
	kStructList
)

type structPlan struct {
	fields []fieldPlan
	// resources are the indexes in fields of the resource fields.
	resources []int
}

var plans sync.Map // reflect.Type -> *structPlan

func planFor(t reflect.Type) (*structPlan, error) {
	if p, ok := plans.Load(t); ok {
		return p.(*structPlan), nil
	}
	p := &structPlan{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, ok := f.Tag.Lookup("acs")
		if !ok {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fp := fieldPlan{index: i, name: name}
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "":
			case "required":
				fp.required = true
			case "resource":
				fp.resource = true
			case "domain":
				fp.resource, fp.domain = true, true
			default:
				return nil, fmt.Errorf("acs: field %s.%s has unknown option %q", t.Name(), f.Name, o)
			}
		}
		switch ft := f.Type; {
		case ft == commaListType:
			fp.kind = kCommaList
		case ft.Kind() == reflect.String:
			fp.kind = kString
		case ft.Kind() == reflect.Int:
			fp.kind = kInt
		case ft.Kind() == reflect.Int64:
			fp.kind = kInt64
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.String:
			fp.kind = kStringPtr
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Int:
			fp.kind = kIntPtr
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Int64:
			fp.kind = kInt64Ptr
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Bool:
			fp.kind = kBoolPtr
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
			fp.kind = kStringList
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Int:
			fp.kind = kIntList
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			fp.kind = kStructList
			ep, err := planFor(ft.Elem())
			if err != nil {
				return nil, err
			}
			fp.elem = ep
		default:
			return nil, fmt.Errorf("acs: field %s.%s has unsupported type %s", t.Name(), f.Name, ft)
		}
		if fp.resource {
			if fp.kind != kString && fp.kind != kStringList && fp.kind != kCommaList {
				return nil, fmt.Errorf("acs: resource field %s.%s must be a string, []string or CommaList", t.Name(), f.Name)
			}
			p.resources = append(p.resources, len(p.fields))
		}
		p.fields = append(p.fields, fp)
	}
	plans.Store(t, p)
	return p, nil
}

// decode fills every field it can and returns the first failure.
func (p *structPlan) decode(params map[string]string, prefix string, v reflect.Value) error {
	var first error
	for _, f := range p.fields {
		if err := f.decode(params, prefix, v); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (f *fieldPlan) decode(params map[string]string, prefix string, v reflect.Value) error {
	name := prefix + f.name
	fv := v.Field(f.index)
	switch f.kind {
	case kStringList, kIntList, kStructList:
		idx, err := listIndexes(params, name)
		if err != nil {
			return err
		}
		if len(idx) == 0 {
			if f.required {
				return moat.MissingParam(name)
			}
			return nil
		}
		return decodeList(params, name, idx, *f, fv)
	}
	raw, ok := params[name]
	if !ok || raw == "" {
		// The v1 SDK drops empty values, so "empty" and "absent" are
		// the same thing on the wire.
		if f.required {
			return moat.MissingParam(name)
		}
		return nil
	}
	return setScalar(f.kind, name, raw, fv)
}

// resourcesOf collects the instance IDs of v's resource fields, in field
// order, leaving out empty ones (an empty InstanceIds.1 names nothing).
func (p *structPlan) resourcesOf(v reflect.Value) []string {
	var out []string
	for _, i := range p.resources {
		f := p.fields[i]
		fv := v.Field(f.index)
		if f.domain {
			if s := fv.String(); s != "" {
				out = append(out, moat.DomainResource(s))
			}
			continue
		}
		switch f.kind {
		case kString:
			if s := fv.String(); s != "" {
				out = append(out, s)
			}
		case kCommaList:
			ids, _ := CommaList(fv.String()).Items()
			out = append(out, ids...)
		case kStringList:
			for _, s := range fv.Interface().([]string) {
				if s != "" {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// resourceNames are the parameters of p's resource fields.
func (p *structPlan) resourceNames() []string {
	var out []string
	for _, i := range p.resources {
		out = append(out, p.fields[i].name)
	}
	return out
}

func setScalar(kind fieldKind, name, raw string, fv reflect.Value) error {
	switch kind {
	case kString, kCommaList:
		fv.SetString(raw)
	case kStringPtr:
		s := raw
		fv.Set(reflect.ValueOf(&s))
	case kInt, kIntPtr:
		n, err := strconv.Atoi(strings.TrimSpace(raw))
		if err != nil {
			return moat.InvalidParam(name, "it must be an integer")
		}
		if kind == kInt {
			fv.SetInt(int64(n))
		} else {
			fv.Set(reflect.ValueOf(&n))
		}
	case kInt64, kInt64Ptr:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil {
			return moat.InvalidParam(name, "it must be an integer")
		}
		if kind == kInt64 {
			fv.SetInt(n)
		} else {
			fv.Set(reflect.ValueOf(&n))
		}
	case kBoolPtr:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return moat.InvalidParam(name, "it must be true or false")
		}
		fv.Set(reflect.ValueOf(&b))
	}
	return nil
}

// listIndexes finds the N of every Name.N or Name.N.Field parameter, sorted.
func listIndexes(params map[string]string, name string) ([]int, error) {
	prefix := name + "."
	seen := map[int]bool{}
	for k := range params {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		rest := k[len(prefix):]
		num, _, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > MaxListIndex || strconv.Itoa(n) != num {
			return nil, moat.InvalidParam(name, fmt.Sprintf("list items are named %s.1 to %s.%d", name, name, MaxListIndex))
		}
		seen[n] = true
	}
	idx := make([]int, 0, len(seen))
	for n := range seen {
		idx = append(idx, n)
	}
	sort.Ints(idx)
	return idx, nil
}

func decodeList(params map[string]string, name string, idx []int, f fieldPlan, fv reflect.Value) error {
	out := reflect.MakeSlice(fv.Type(), 0, len(idx))
	for _, n := range idx {
		item := name + "." + strconv.Itoa(n)
		switch f.kind {
		case kStringList:
			v, ok := params[item]
			if !ok {
				return moat.InvalidParam(item, "a list item has no value")
			}
			out = reflect.Append(out, reflect.ValueOf(v))
		case kIntList:
			v, ok := params[item]
			if !ok {
				return moat.InvalidParam(item, "a list item has no value")
			}
			i, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return moat.InvalidParam(item, "it must be an integer")
			}
			out = reflect.Append(out, reflect.ValueOf(i))
		case kStructList:
			ev := reflect.New(fv.Type().Elem()).Elem()
			if err := f.elem.decode(params, item+".", ev); err != nil {
				return err
			}
			out = reflect.Append(out, ev)
		}
	}
	fv.Set(out)
	return nil
}

// CommaList is a parameter holding several values separated by commas
// (BSS names instances so: InstanceIDs=a,b), as opposed to a Name.N list.
type CommaList string

var commaListType = reflect.TypeFor[CommaList]()

// Items are the values, trimmed of blanks, without the empty ones; empty
// reports that there was one ("a,,b"), which a handler may refuse rather
// than guess at. The audit record and RAM see the same items.
func (l CommaList) Items() (items []string, empty bool) {
	if l == "" {
		return nil, false
	}
	parts := strings.Split(string(l), ",")
	items = make([]string, 0, len(parts))
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			items = append(items, p)
		} else {
			empty = true
		}
	}
	return items, empty
}
