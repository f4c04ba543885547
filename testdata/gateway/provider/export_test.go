package provider

// Exported for the external tests.
var (
	AliyunClass  = aliyunClass
	TencentClass = tencentClass
)
