package acs

import (
	"reflect"
	"testing"

	"moat/internal/moat"
)

type decodeItem struct {
	Key   string `acs:"Key"`
	Value string `acs:"Value"`
}

type decodeTarget struct {
	Name  string       `acs:"Name,required"`
	Opt   *string      `acs:"Opt"`
	N     int          `acs:"N"`
	NP    *int         `acs:"NP"`
	Big   *int64       `acs:"Big"`
	Flag  *bool        `acs:"Flag"`
	IDs   []string     `acs:"IDs"`
	Nums  []int        `acs:"Nums"`
	Tags  []decodeItem `acs:"Tag"`
	Plain string       // untagged: ignored
}

func TestDecode(t *testing.T) {
	ptr := func(s string) *string { return &s }
	iptr := func(i int) *int { return &i }
	i64 := func(i int64) *int64 { return &i }
	bptr := func(b bool) *bool { return &b }
	cases := []struct {
		name   string
		params map[string]string
		want   decodeTarget
		code   moat.Code
	}{
		{name: "minimal", params: map[string]string{"Name": "x"}, want: decodeTarget{Name: "x"}},
		{name: "all scalars", params: map[string]string{"Name": "x", "Opt": "o", "N": "7", "NP": "-3", "Big": "1700000000000", "Flag": "true", "Plain": "p"},
			want: decodeTarget{Name: "x", Opt: ptr("o"), N: 7, NP: iptr(-3), Big: i64(1700000000000), Flag: bptr(true)}},
		{name: "lists sorted by index, not by text", params: map[string]string{"Name": "x", "IDs.2": "b", "IDs.10": "c", "IDs.1": "a", "Nums.1": "5"},
			want: decodeTarget{Name: "x", IDs: []string{"a", "b", "c"}, Nums: []int{5}}},
		{name: "struct list", params: map[string]string{"Name": "x", "Tag.1.Key": "k1", "Tag.1.Value": "v1", "Tag.2.Key": "k2"},
			want: decodeTarget{Name: "x", Tags: []decodeItem{{"k1", "v1"}, {"k2", ""}}}},
		{name: "missing required", params: map[string]string{}, code: "MissingName"},
		{name: "empty required is missing", params: map[string]string{"Name": ""}, code: "MissingName"},
		{name: "empty optional is absent", params: map[string]string{"Name": "x", "NP": ""}, want: decodeTarget{Name: "x"}},
		{name: "not an integer", params: map[string]string{"Name": "x", "N": "seven"}, code: moat.CodeInvalidParameter},
		{name: "integer overflow", params: map[string]string{"Name": "x", "Big": "99999999999999999999"}, code: moat.CodeInvalidParameter},
		{name: "bad bool", params: map[string]string{"Name": "x", "Flag": "yes please"}, code: moat.CodeInvalidParameter},
		{name: "index zero", params: map[string]string{"Name": "x", "IDs.0": "a"}, code: moat.CodeInvalidParameter},
		{name: "index not a number", params: map[string]string{"Name": "x", "IDs.a": "a"}, code: moat.CodeInvalidParameter},
		{name: "index with leading zero", params: map[string]string{"Name": "x", "IDs.01": "a"}, code: moat.CodeInvalidParameter},
		{name: "index too large", params: map[string]string{"Name": "x", "IDs.1001": "a"}, code: moat.CodeInvalidParameter},
		{name: "int list item not a number", params: map[string]string{"Name": "x", "Nums.1": "a"}, code: moat.CodeInvalidParameter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got decodeTarget
			err := Decode(c.params, &got)
			if c.code != "" {
				if moat.ErrorCode(err) != c.code {
					t.Fatalf("Decode error = %v, want code %s", err, c.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Decode = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestDecodeRejectsNonStruct(t *testing.T) {
	var s string
	if err := Decode(map[string]string{}, &s); moat.ErrorKind(err) != moat.KindInternal {
		t.Fatalf("Decode into *string: err = %v, want an internal error", err)
	}
}
