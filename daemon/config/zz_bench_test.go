package config
import ("testing";"os")
func BenchmarkParseDemo(b *testing.B){
 data, _ := os.ReadFile("../../devices.yaml")
 for i := 0; i < b.N; i++ { Parse("d.yaml", data) }
}
func BenchmarkParseDemoBroken(b *testing.B){
 data, _ := os.ReadFile("../../devices.yaml")
 data = append(data, []byte("\nfoo: [\n")...)
 for i := 0; i < b.N; i++ { Parse("d.yaml", data) }
}
