module halld/kiosk-ui/shell

go 1.26

require github.com/webview/webview_go v0.0.0-20240831120633-6173450d4dd6
