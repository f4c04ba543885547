package tars

// ConfigF.tars: the config center, servant ServantConfig (interface Config).
const (
	ServantConfig        = "tars.tarsconfig.ConfigObj" // the <server>config default
	FuncLoadConfigByInfo = "loadConfigByInfo"
)

// ConfigInfo names one config file of a service, as TarsGo's RConf asks
// for it. Tags start at 0.
type ConfigInfo struct {
	AppName       string // 0 require
	ServerName    string // 1 require
	FileName      string // 2 require
	AppOnly       bool   // 3 require: the application's file, not the server's
	Host          string // 4 optional
	SetDivision   string // 5 optional: "name.area.group", or ""
	ContainerName string // 6 optional
}

func (s *ConfigInfo) Encode(w *Buffer) {
	w.WriteString(0, s.AppName)
	w.WriteString(1, s.ServerName)
	w.WriteString(2, s.FileName)
	w.WriteBool(3, s.AppOnly)
	w.WriteString(4, s.Host)
	w.WriteString(5, s.SetDivision)
	w.WriteString(6, s.ContainerName)
}

func (s *ConfigInfo) Decode(r *Reader) error {
	*s = ConfigInfo{}
	r.ReadString(&s.AppName, 0, true)
	r.ReadString(&s.ServerName, 1, true)
	r.ReadString(&s.FileName, 2, true)
	r.ReadBool(&s.AppOnly, 3, true)
	r.ReadString(&s.Host, 4, false)
	r.ReadString(&s.SetDivision, 5, false)
	r.ReadString(&s.ContainerName, 6, false)
	return r.Err()
}

// LoadConfigByInfoArgs: int loadConfigByInfo(ConfigInfo configInfo, out
// string config).
type LoadConfigByInfoArgs struct {
	Info ConfigInfo // 1
}

func (s *LoadConfigByInfoArgs) Encode(w *Buffer) { w.WriteStruct(1, &s.Info) }

func (s *LoadConfigByInfoArgs) Decode(r *Reader) error {
	*s = LoadConfigByInfoArgs{}
	return r.ReadStruct(&s.Info, 1, true)
}

// LoadConfigByInfoResult is its reply: ret at tag 0 (0: found), the file's
// contents at tag 2 (the out parameter follows the one in parameter).
type LoadConfigByInfoResult struct {
	Ret    int32  // 0
	Config string // 2
}

func (s *LoadConfigByInfoResult) Encode(w *Buffer) {
	w.WriteInt32(0, s.Ret)
	w.WriteString(2, s.Config)
}

func (s *LoadConfigByInfoResult) Decode(r *Reader) error {
	*s = LoadConfigByInfoResult{}
	r.ReadInt32(&s.Ret, 0, true)
	r.ReadString(&s.Config, 2, false)
	return r.Err()
}
