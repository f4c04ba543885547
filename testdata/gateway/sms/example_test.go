package sms_test

import (
	"fmt"

	"github.com/nodeagent/node-agent/testdata/gateway/sms"
)

func ExampleNormalizePhone() {
	key, err := sms.NormalizePhone("+4915112345678")
	fmt.Println(key, err)
	_, err = sms.NormalizePhone("+49 151 12345678")
	fmt.Println(err)
	// Output:
	// 4915112345678 <nil>
	// phone: must be an optional '+' followed by digits only, such as +4915112345678
}

func ExampleTemplate_Render() {
	t := sms.BuiltinTemplates()["order_shipped"]
	fmt.Println(t.Params())
	fmt.Println(t.Render(map[string]string{"order_id": "A-17", "carrier": "DHL"}))
	// Output:
	// [order_id carrier]
	// Your order A-17 has shipped with DHL.
}
