# What one mount becomes: its config file (the JSON the launcher reads),
# its service, and, with restartOnCredentialChange, the path unit and
# service that remount it when its token file changes.
{
  lib,
  pkgs,
  utils,
  validate,
  clientExe,
  launcherExe,
  systemdPackage,
}:
let
  unitName = import ./unit-name.nix { inherit lib; };
  hardening = import ./hardening.nix { inherit lib; };

  isToken = m: m.authMethod == "token";

  # The JSON the launcher reads (DESIGN.md, "Mount config"). No secret, and
  # no null: a key that is not set is left out; booleans are always written.
  mountConfig =
    name: m:
    {
      inherit name;
      inherit (m)
        diskName
        mountPoint
        region
        authMethod
        readOnly
        shared
        enableXattrs
        writebackCache
        readyTimeoutSec
        stopTimeoutSec
        imdsTimeoutSec
        ;
      archil = clientExe;
    }
    // lib.optionalAttrs (isToken m) { credential = m.credentialName; }
    // lib.filterAttrs (_: v: v != null) { inherit (m) maxCacheMB targetCacheMB logLevel; }
    // lib.optionalAttrs (m.extraArgs != [ ]) { inherit (m) extraArgs; }
    // lib.optionalAttrs (m.environment != { }) { passEnv = lib.attrNames m.environment; };

  # Text that systemd reads with specifier expansion (Description=,
  # Environment=, LoadCredential= ...): "%" must be doubled.
  escapeSpecifiers = lib.replaceStrings [ "%" ] [ "%%" ];

  # A path in a space-separated list setting (RequiresMountsFor=): quoted
  # when it holds a space, quote or backslash.
  quotePath =
    p:
    let
      e = escapeSpecifiers p;
    in
    if builtins.match ".*[ \t\"'\\].*" p == null then
      e
    else
      "\"" + lib.replaceStrings [ "\\" "\"" ] [ "\\\\" "\\\"" ] e + "\"";

  # A time span as systemd writes it: "10s", "5min".
  seconds = n: if n >= 60 && lib.mod n 60 == 0 then "${toString (n / 60)}min" else "${toString n}s";

  configFile = name: m: pkgs.writeText "archil-mount-${name}.json" (builtins.toJSON (mountConfig name m));

  # The token from authToken, in a store file loaded like any other.
  tokenFile = name: m: pkgs.writeText "archil-mount-${name}-token" m.authToken;

  credentialConfig =
    name: m:
    if !(isToken m) then
      { }
    else if m.authToken != null then
      { LoadCredential = "${m.credentialName}:${tokenFile name m}"; }
    else if m.authTokenFile != null then
      { LoadCredential = "${m.credentialName}:${escapeSpecifiers m.authTokenFile}"; }
    else if m.encryptedAuthTokenFile != null then
      { LoadCredentialEncrypted = "${m.credentialName}:${escapeSpecifiers m.encryptedAuthTokenFile}"; }
    else if m.credstore then
      { ImportCredential = m.credentialName; }
    else
      { };

  # The file restartOnCredentialChange watches, or null.
  watchedFile =
    m:
    if !(isToken m && m.restartOnCredentialChange) then
      null
    else if m.authTokenFile != null then
      m.authTokenFile
    else
      m.encryptedAuthTokenFile;

  # Every unit the mount's service is ordered before: they start once the
  # disk answers and stop before it is unmounted.
  orderedBefore = m: lib.unique ([ "remote-fs.target" ] ++ m.wantedBy ++ m.requiredBy);

  service =
    name: m:
    let
      # Values built from an invalid mount point or disk name would fail
      # NixOS' own option types before the assertions could name the
      # problem; such a mount gets neutral ones.
      mountPointValid = validate.mountPoint m.mountPoint == null;
      valid = mountPointValid && validate.diskName m.diskName == null;
      # The mount point's own .mount unit, unless systemd would hash its
      # name (too long). Not utils.escapeSystemdPath: it leaves "?" and
      # non-ASCII bytes unescaped, which NixOS' unitNameType (and systemd)
      # refuse.
      mountUnit = if mountPointValid then unitName.mountUnit m.mountPoint else null;
      launch = "${launcherExe} --config ${configFile name m}";
    in
    {
      description =
        if valid then
          # Not ending in the path: systemd strips a line's trailing
          # whitespace and reads a trailing backslash as a continuation.
          escapeSpecifiers "Archil disk ${m.diskName} on ${m.mountPoint} (archil-launch)"
        else
          "Archil disk (invalid configuration)";
      wants = [ "network-online.target" ];
      # The mount's own .mount unit: at shutdown systemd stops it with a
      # plain umount; ordering after it makes our flushing stop run first.
      after = [ "network-online.target" ] ++ lib.optional (mountUnit != null) mountUnit;
      before = orderedBefore m;
      inherit (m) wantedBy requiredBy restartIfChanged;
      # PATH comes from `path` (an assertion refuses it here).
      environment = lib.mapAttrs (_: escapeSpecifiers) (removeAttrs m.environment [ "PATH" ]);
      # fusermount: the setuid wrapper first, then the packages' own.
      path = [
        "/run/wrappers"
        pkgs.fuse
        pkgs.fuse3
      ];
      unitConfig = {
        StartLimitIntervalSec = 0;
        # The file system the mount point lives on: mounted before the
        # launcher creates the directory, unmounted only after our stop.
        # Not the mount point itself: that is our own mount.
        RequiresMountsFor = lib.optional mountPointValid (quotePath (dirOf m.mountPoint));
      };
      serviceConfig = lib.mkMerge [
        {
          Type = "notify";
          NotifyAccess = "main";
          ExecStart = launch;
          Restart = "on-failure";
          RestartSec = seconds m.restartSec;
          RestartSteps = 5;
          RestartMaxDelaySec = seconds m.restartMaxDelaySec;
          # The IMDS precheck comes before the mount's own wait.
          TimeoutStartSec = m.readyTimeoutSec + (if m.authMethod == "iam" then m.imdsTimeoutSec else 0) + 30;
          TimeoutStopSec = m.stopTimeoutSec + 30;
          # The launcher's own death must not lose a write: KillMode=process
          # leaves the client alive when systemd ends the launcher, and the
          # stop hook, which runs after every stop, flushes a mount a dead
          # launcher left and then ends what is left of the unit.
          KillMode = "process";
          ExecStopPost = "${launch} --stop";
          # 1, not 0: no core_pattern pipe helper receives a dump (and the
          # token in the environment with it).
          LimitCORE = 1;
        }
        (credentialConfig name m)
        hardening
      ];
    };

  # restartOnCredentialChange: a path unit on the token file, and a
  # service that restarts the mount when the file's content is not what
  # the running mount was given (/run/credentials/<unit>/<id> holds that).
  # ExecCondition= skips the restart (without a failure) when it is the
  # same: a touch or a rewrite of the same token restarts nothing.
  tokenWatch =
    name: m:
    let
      file = watchedFile m;
      mountService = "archil-mount-${name}.service";
      loaded = "/run/credentials/${mountService}/${m.credentialName}";
      cmp = "${pkgs.diffutils}/bin/cmp";
      # $1 the file, $2 the loaded credential, $3 its name; exit 0 (go on)
      # when they differ or nothing is loaded.
      differs =
        if m.authTokenFile != null then
          ''! ${cmp} -s -- "$1" "$2"''
        else
          ''! ${systemdPackage}/bin/systemd-creds decrypt --name="$3" -- "$1" - | ${cmp} -s - "$2"'';
    in
    lib.optionalAttrs (file != null) {
      path = {
        description = "Watch the Archil token of ${mountService}";
        wantedBy = [ "paths.target" ];
        # The file, and its directory: agenix and sops-nix replace a
        # symlinked directory of secrets at each activation, which the
        # file's own watch does not see (measured under systemd 257:
        # e2e/rotation_test.go).
        pathConfig.PathChanged = map escapeSpecifiers [
          file
          (dirOf file)
        ];
      };
      service = {
        description = "Restart ${mountService} for its new token";
        serviceConfig = {
          Type = "oneshot";
          ExecCondition = utils.escapeSystemdExecArgs [
            pkgs.runtimeShell
            "-c"
            differs
            "archil-token-${name}"
            file
            loaded
            m.credentialName
          ];
          ExecStart = "${systemdPackage}/bin/systemctl try-restart ${mountService}";
        };
      };
    };
in
{
  inherit configFile tokenWatch watchedFile;
  inherit service;
}
