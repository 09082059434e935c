; CellDeck installer for Windows workstations (Inno Setup 6). Not built by CI (Linux):
; see docs/packaging.md, "Windows", for the steps on a Windows build machine:
;
;   .venv\Scripts\pyinstaller --noconfirm --clean --distpath dist --workpath build\pyinstaller packaging\celldeck.spec
;   iscc /DAppVersion=0.1.0 packaging\windows\celldeck.iss
;
; Same layout as the Linux .deb:
;   {app} = C:\Program Files\CellDeck      the bundle: celldeck.exe (no console window),
;                                          celldeck-cli.exe (--self-test, --version,
;                                          subcommands), _internal\ (Python, Qt, resources)
;   Start menu: CellDeck, CellDeck demo, CellDeck self-test
;   optional: desktop shortcut; kiosk start at every log-on (unchecked by default)
; The records are never under {app}: each user's data folder is
; %APPDATA%\CellDeck\CellDeck (Qt's AppDataLocation). Neither an upgrade nor the
; uninstaller touches it: nothing below deletes outside {app}.
; Serial ports (COM1, COM3, ...) need no extra rights on Windows.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\celldeck"
#endif

[Setup]
; One fixed AppId for every release: a newer version installs over the older one
; (same folder, same uninstall entry) instead of beside it.
AppId={{6C1D2F4E-8B3A-4E7C-9F21-5D0C8A7B3E19}
AppName=CellDeck
AppVersion={#AppVersion}
AppVerName=CellDeck {#AppVersion}
AppPublisher=CellDeck
DefaultDirName={autopf}\CellDeck
DefaultGroupName=CellDeck
DisableProgramGroupPage=yes
OutputDir=..\..\dist
OutputBaseFilename=celldeck-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequired=admin
; a running console is asked to close before its files are replaced
CloseApplications=yes
RestartApplications=no
UninstallDisplayIcon={app}\celldeck.exe
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "A desktop shortcut"; Flags: unchecked
Name: "kiosk"; Description: "Start the console full screen at every log-on (cleanroom kiosk)"; Flags: unchecked

[InstallDelete]
; An upgrade replaces the bundle whole: no file of the older version stays in _internal.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "..\..\docs\packaging.md"; DestDir: "{app}\docs"; Flags: ignoreversion

[Icons]
Name: "{group}\CellDeck"; Filename: "{app}\celldeck.exe"
Name: "{group}\CellDeck demo (simulated instrument)"; Filename: "{app}\celldeck.exe"; Parameters: "--demo"
Name: "{group}\CellDeck self-test"; Filename: "{cmd}"; Parameters: "/k ""{app}\celldeck-cli.exe"" --self-test"
Name: "{autodesktop}\CellDeck"; Filename: "{app}\celldeck.exe"; Tasks: desktopicon
; Kiosk: every user's log-on starts the console full screen. Add the instrument's port
; to this shortcut's parameters (--kiosk --port COM3): without --port the console starts
; in demo mode.
Name: "{commonstartup}\CellDeck kiosk"; Filename: "{app}\celldeck.exe"; Parameters: "--kiosk"; Tasks: kiosk

[UninstallDelete]
; Only what the installer made: {app} itself when empty. The data folders stay.
Type: dirifempty; Name: "{app}"
