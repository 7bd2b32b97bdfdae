{
  config,
  lib,
  options,
  pkgs,
  ...
}:
let
  cfg = config.services.archil;
  validate = import ./validate.nix { inherit lib; };
  unitName = import ./unit-name.nix { inherit lib; };

  # "services.archil.mounts.<name>" and "….<name>.<option>", quoted the way
  # the module system prints option names.
  mountOption = name: lib.showOption [ "services" "archil" "mounts" name ];
  mountOptionOf = name: option: lib.showOption [ "services" "archil" "mounts" name option ];

  # A secret's location: an absolute path outside the Nix store, given as a
  # string. A Nix path literal (./token) is accepted by the type check only to
  # be refused here with a clear message: using it would copy the secret into
  # the world-readable Nix store.
  secretPath =
    let
      base = lib.types.pathWith {
        inStore = false;
        absolute = true;
      };
    in
    base
    // {
      description = "absolute path not in the Nix store, as a string";
      check = x: lib.isPath x || base.check x;
      merge =
        loc: defs:
        let
          literal = lib.findFirst (def: lib.isPath def.value) null defs;
        in
        if literal != null then
          throw "The option `${lib.showOption loc}' is the Nix path literal ${toString literal.value} (in ${literal.file}): it would be copied into the world-readable Nix store. Give the path of the secret on the target machine as a string instead, for example \"/run/secrets/archil-token\"."
        else
          base.merge loc defs;
    };

  timeoutType = lib.types.ints.between 1 validate.maxTimeoutSec;

  mountModule =
    { name, ... }:
    {
      options = {
        diskName = lib.mkOption {
          type = lib.types.str;
          description = ''
            The Archil disk: `owner/name`, `user@domain/name` or a disk id
            `dsk-` followed by 16 hex digits, optionally followed by
            `:/path` to mount a subdirectory of the disk as the root.
          '';
          example = "myorg/data:/models";
        };

        mountPoint = lib.mkOption {
          type = lib.types.str;
          description = ''
            Absolute, normalized directory to mount the disk on. It is
            created if missing and must be empty. It may not be `/` or be at
            or under `/nix`, `/proc`, `/sys`, `/dev`, `/boot`, `/etc`, `/usr`,
            `/bin`, `/sbin`, `/lib`, `/lib64` or `/run/credentials`.
          '';
          example = "/mnt/archil/data";
        };

        region = lib.mkOption {
          type = lib.types.str;
          description = "Region of the disk: provider prefix, then the provider's region name.";
          example = "aws-us-east-1";
        };

        authMethod = lib.mkOption {
          type = lib.types.enum [
            "iam"
            "token"
          ];
          default = "iam";
          description = ''
            How the client authenticates. `"iam"`: the instance's IAM role
            (EC2 instance profile, found through the instance metadata
            service); no token option may be set. `"token"`: a disk token
            from exactly one of {option}`authToken`, {option}`authTokenFile`,
            {option}`encryptedAuthTokenFile` or {option}`credstore`.
          '';
          example = "token";
        };

        authToken = lib.mkOption {
          type = lib.types.nullOr lib.types.str;
          default = null;
          description = ''
            The disk token itself. It is written to the Nix store, which
            every local user can read: prefer {option}`authTokenFile`,
            {option}`encryptedAuthTokenFile` or {option}`credstore`. Setting
            it causes a warning. The token is passed to the service as a
            systemd credential, never on a command line or in the unit.
          '';
          example = "<token>";
        };

        authTokenFile = lib.mkOption {
          type = lib.types.nullOr secretPath;
          default = null;
          description = ''
            Path of a file holding the disk token, read by systemd with
            `LoadCredential=` when the service starts (for example a secret
            from agenix or sops-nix). It must be given as a string: a Nix
            path literal is refused because it would be copied into the
            world-readable Nix store.
          '';
          example = "/run/agenix/archil-data";
        };

        encryptedAuthTokenFile = lib.mkOption {
          type = lib.types.nullOr secretPath;
          default = null;
          description = ''
            Path of a file holding the disk token encrypted with
            `systemd-creds encrypt --name=<credentialName>`, decrypted by
            systemd with `LoadCredentialEncrypted=` when the service starts.
          '';
          example = "/etc/credstore.encrypted/archil-token";
        };

        credstore = lib.mkOption {
          type = lib.types.bool;
          default = false;
          description = ''
            Take the disk token from the system credential store with
            `ImportCredential=`: a credential named {option}`credentialName`
            in `/etc/credstore`, `/run/credstore`, `/etc/credstore.encrypted`
            or `/run/credstore.encrypted`, or one passed to the machine
            (for example with `systemd.set_credential=` or SMBIOS).
          '';
          example = true;
        };

        credentialName = lib.mkOption {
          type = lib.types.str;
          default = "archil-token";
          description = ''
            Name (id) of the systemd credential that holds the token; the
            launcher reads `$CREDENTIALS_DIRECTORY/<credentialName>`. With
            {option}`credstore`, the name looked up in the credential store.
          '';
          example = "archil-data";
        };

        readOnly = lib.mkOption {
          type = lib.types.bool;
          default = false;
          description = ''
            Make the mount read-only once it is up (the client has no
            read-only flag; the launcher sets the per-mount read-only flag
            before it reports ready). The flag belongs to the mount in the
            host's mount namespace: a service with a namespace of its own
            (`PrivateTmp=`, `ProtectSystem=` ...) started before the disk
            was mounted receives the mount by propagation without it.
          '';
          example = true;
        };

        shared = lib.mkOption {
          type = lib.types.bool;
          default = false;
          description = "Share the disk with other clients (`--shared`: no checkout of the root).";
          example = true;
        };

        maxCacheMB = lib.mkOption {
          type = lib.types.nullOr (lib.types.ints.between 1 validate.maxCacheMB);
          default = null;
          description = "Largest local cache in MiB (`--max-cache-mb`). `null`: the client's default.";
          example = 10240;
        };

        targetCacheMB = lib.mkOption {
          type = lib.types.nullOr (lib.types.ints.between 1 validate.maxCacheMB);
          default = null;
          description = "Cache size in MiB the client shrinks to (`--target-cache-mb`), at most {option}`maxCacheMB`. `null`: the client's default (75 % of the maximum).";
          example = 8192;
        };

        logLevel = lib.mkOption {
          type = lib.types.nullOr (lib.types.enum validate.logLevels);
          default = null;
          description = "The client's log level (`--log-level`). `null`: the client's default.";
          example = "debug";
        };

        extraArgs = lib.mkOption {
          type = lib.types.listOf lib.types.str;
          default = [ ];
          description = ''
            Extra arguments for `archil mount`, each one flag starting with
            `--` (give values as `--flag=value`), none twice. They come last,
            after `--no-fork` and the flags the typed options set. Refused:
            `--auth-token`, `--no-fork`, `--force`/`-f`, `--`, and every
            flag a typed option sets (`--region`, `--shared`, `--read-only`,
            `--enable-xattrs`, `--writeback-cache`, `--max-cache-mb`,
            `--target-cache-mb`, `--log-level`).
          '';
          example = [
            "--nconnect=4"
            "--log-metrics"
          ];
        };

        readyTimeoutSec = lib.mkOption {
          type = timeoutType;
          default = 30;
          description = "Seconds the launcher waits for the mount to answer before it gives up. The unit's `TimeoutStartSec=` is 30 s more.";
          example = 120;
        };

        stopTimeoutSec = lib.mkOption {
          type = timeoutType;
          default = 60;
          description = "Seconds `archil unmount` may take to flush pending writes at stop before the launcher falls back to a plain unmount. The unit's `TimeoutStopSec=` is 30 s more.";
          example = 300;
        };

        imdsTimeoutSec = lib.mkOption {
          type = timeoutType;
          default = 1;
          description = "Seconds the IAM precheck may spend asking the instance metadata service for the role.";
          example = 5;
        };

        wantedBy = lib.mkOption {
          type = lib.types.listOf lib.types.str;
          default = [ "remote-fs.target" ];
          description = "Units that want this mount's service.";
          example = [ "multi-user.target" ];
        };

        requiredBy = lib.mkOption {
          type = lib.types.listOf lib.types.str;
          default = [ ];
          description = "Units that require this mount's service (they stop when it stops).";
          example = [ "my-app.service" ];
        };

        environment = lib.mkOption {
          type = lib.types.attrsOf lib.types.str;
          default = { };
          description = ''
            Extra environment variables for the client (set in the unit's
            `Environment=` and passed on by the launcher), for example a
            proxy. Never put a secret here: the unit file is world-readable.
            `ARCHIL_MOUNT_TOKEN`, `NOTIFY_SOCKET`, `CREDENTIALS_DIRECTORY`,
            `LISTEN_*` and `WATCHDOG_*` are refused, and so is `PATH`, which
            the unit sets from its `path`.
          '';
          example = {
            HTTPS_PROXY = "http://proxy.example.com:3128";
          };
        };

        restartSec = lib.mkOption {
          type = lib.types.ints.positive;
          default = 10;
          description = "Seconds before the first restart after a failure (`RestartSec=`).";
          example = 5;
        };

        restartMaxDelaySec = lib.mkOption {
          type = lib.types.ints.positive;
          default = 300;
          description = "Longest delay between restarts; the delay grows from {option}`restartSec` to this in 5 steps (`RestartMaxDelaySec=`).";
          example = 600;
        };

        restartIfChanged = lib.mkOption {
          type = lib.types.bool;
          default = false;
          description = ''
            Restart the service, and so unmount and mount the disk again,
            when `nixos-rebuild switch` changes its unit. Off by default: a
            switch should not pull a disk from under running programs.
          '';
          example = true;
        };
      };
    };

  isToken = m: m.authMethod == "token";

  tokenSourceCount =
    m:
    lib.count lib.id [
      (m.authToken != null)
      (m.authTokenFile != null)
      (m.encryptedAuthTokenFile != null)
      m.credstore
    ];

  # The JSON the launcher reads (DESIGN.md, "Mount config"). No secret, and
  # no null: a key that is not set is left out.
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

  # The client, once services.archil.package is set; before that, an
  # assertion says so and this stand-in keeps evaluation from failing with
  # a less helpful "used but not defined" first.
  clientDefined = options.services.archil.package.isDefined && cfg.package != null;
  clientExe = if clientDefined then lib.getExe' cfg.package "archil" else "/run/current-system/sw/bin/archil";

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

  mountService =
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
    in
    lib.nameValuePair "archil-mount-${name}" {
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
      after = [
        "network-online.target"
      ]
      ++ lib.optional (mountUnit != null) mountUnit;
      before = [ "remote-fs.target" ];
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
      serviceConfig = {
        Type = "notify";
        NotifyAccess = "main";
        ExecStart = "${lib.getExe cfg.launcherPackage} --config ${configFile name m}";
        Restart = "on-failure";
        RestartSec = seconds m.restartSec;
        RestartSteps = 5;
        RestartMaxDelaySec = seconds m.restartMaxDelaySec;
        TimeoutStartSec = m.readyTimeoutSec + 30;
        TimeoutStopSec = m.stopTimeoutSec + 30;
        # The launcher's own death must not lose a write: KillMode=process
        # leaves the client alive when systemd ends the launcher, and the
        # stop hook, which runs after every stop, flushes a mount a dead
        # launcher left and then ends what is left of the unit.
        KillMode = "process";
        ExecStopPost = "${lib.getExe cfg.launcherPackage} --config ${configFile name m} --stop";
        # 1, not 0: no core_pattern pipe helper receives a dump (and the
        # token in the environment with it).
        LimitCORE = 1;

        # Hardening
        #
        # Nothing here may give the service a mount namespace of its own: a
        # FUSE mount made inside one is invisible to the rest of the system.
        # Not used for that reason (each makes systemd set one up):
        # ProtectSystem, ProtectHome, PrivateTmp, PrivateDevices,
        # PrivateMounts, ProtectKernelTunables, ProtectKernelModules,
        # ProtectKernelLogs, ProtectControlGroups, ProtectProc and ProcSubset
        # (other than the default), PrivateIPC, PrivatePIDs, PrivateNetwork,
        # DynamicUser, every *Paths= option (ReadWritePaths, ReadOnlyPaths,
        # InaccessiblePaths, ExecPaths, NoExecPaths), BindPaths,
        # BindReadOnlyPaths, TemporaryFileSystem, RootDirectory, RootImage,
        # MountFlags other than shared, LogNamespace, and NixOS'
        # `confinement`. PrivateUsers is not used either: mounting needs
        # CAP_SYS_ADMIN in the host's user namespace.
        # ProtectClock and ProtectHostname need no mount namespace (a
        # seccomp filter and device rule, and a UTS namespace).
        # CAP_SYS_RESOURCE: the launcher exempts itself from the OOM killer.
        CapabilityBoundingSet = lib.mkDefault [
          "CAP_SYS_ADMIN"
          "CAP_SYS_RESOURCE"
        ];
        NoNewPrivileges = lib.mkDefault true;
        # FUSE clients mount with mount(2) as root or through the
        # fusermount/fusermount3 helper, which calls the setuid family even
        # as root (setuid(0) before it runs mount/umount for mtab; libfuse3
        # does the same when it mounts itself): so no ~@privileged and no
        # ~@setuid. @system-service already has @setuid, @chown (a client
        # that keeps file owners) and capset (a client that drops
        # capabilities with libcap); @setuid is named to say it is needed.
        # Of what ~@privileged denied, only chroot and pivot_root (from
        # @mount) stay denied: no FUSE client changes its root.
        SystemCallFilter = lib.mkDefault [
          "@system-service"
          "@mount"
          "@setuid"
          "~chroot pivot_root"
        ];
        SystemCallErrorNumber = lib.mkDefault "EPERM";
        SystemCallArchitectures = lib.mkDefault "native";
        RestrictAddressFamilies = lib.mkDefault [
          "AF_UNIX"
          "AF_INET"
          "AF_INET6"
          "AF_NETLINK"
        ];
        RestrictNamespaces = lib.mkDefault true;
        RestrictRealtime = lib.mkDefault true;
        RestrictSUIDSGID = lib.mkDefault true;
        LockPersonality = lib.mkDefault true;
        MemoryDenyWriteExecute = lib.mkDefault true;
        ProtectClock = lib.mkDefault true;
        ProtectHostname = lib.mkDefault true;
        DevicePolicy = lib.mkDefault "closed";
        DeviceAllow = lib.mkDefault [ "/dev/fuse rw" ];
        # Mount points (and their parents) are created 0755 for other users
        # to reach the disk; a stricter umask would make them 0700.
        UMask = lib.mkDefault "0022";
        KeyringMode = lib.mkDefault "private";
        RemoveIPC = lib.mkDefault true;
      }
      // credentialConfig name m;
    };

  # One assertion per rule and mount, naming the option.
  fieldAssertion = name: option: problem: {
    assertion = problem == null;
    message = "${mountOptionOf name option}: ${toString problem}";
  };

  mountAssertions =
    name: m:
    [
      {
        assertion = validate.name name == null;
        message = "${mountOption name}: the name ${toString (validate.name name)}";
      }
      (fieldAssertion name "diskName" (validate.diskName m.diskName))
      (fieldAssertion name "mountPoint" (validate.mountPoint m.mountPoint))
      (fieldAssertion name "region" (validate.region m.region))
      (fieldAssertion name "credentialName" (
        if isToken m then validate.credential m.credentialName else null
      ))
      (fieldAssertion name "extraArgs" (validate.extraArgs m.extraArgs))
      (fieldAssertion name "targetCacheMB" (validate.cacheSizes m.maxCacheMB m.targetCacheMB))
      (fieldAssertion name "authTokenFile" (
        if m.authTokenFile == null then null else validate.secretPath m.authTokenFile
      ))
      (fieldAssertion name "encryptedAuthTokenFile" (
        if m.encryptedAuthTokenFile == null then null else validate.secretPath m.encryptedAuthTokenFile
      ))
      (fieldAssertion name "authToken" (if m.authToken == null then null else validate.token m.authToken))
      (fieldAssertion name "restartMaxDelaySec" (
        if m.restartMaxDelaySec < m.restartSec then "must not be less than restartSec (${toString m.restartSec})" else null
      ))
      (fieldAssertion name "environment" (
        lib.findFirst (p: p != null) null (
          map (
            n:
            let
              p = if n == "PATH" then "is set by the unit from its `path`; not settable here" else validate.envName n;
            in
            if p == null then null else "${n}: ${p}"
          ) (lib.attrNames m.environment)
        )
      ))
      {
        assertion = !(isToken m) || tokenSourceCount m == 1;
        message = "${mountOptionOf name "authMethod"} is \"token\", so exactly one of ${
          lib.concatMapStringsSep ", " (mountOptionOf name) [
            "authToken"
            "authTokenFile"
            "encryptedAuthTokenFile"
            "credstore"
          ]
        } must be set (found ${toString (tokenSourceCount m)}).";
      }
      {
        assertion = isToken m || tokenSourceCount m == 0;
        message = "${mountOptionOf name "authMethod"} is \"iam\", which uses no token: unset ${mountOptionOf name "authToken"}, authTokenFile, encryptedAuthTokenFile and credstore, or set authMethod = \"token\".";
      }
    ];

  mountList = lib.mapAttrsToList (name: m: { inherit name m; }) cfg.mounts;

  # Every mount point used by more than one mount, and the mounts using it.
  duplicateMountPoints = lib.filterAttrs (_: names: lib.length names > 1) (
    lib.mapAttrs (_: map (x: x.name)) (lib.groupBy (x: x.m.mountPoint) mountList)
  );

  # Pairs (outer, inner) where inner's mount point is under outer's.
  nestedMountPoints = lib.concatMap (
    outer:
    map (inner: { inherit outer inner; }) (
      lib.filter (
        inner: inner.name != outer.name && lib.hasPrefix "${outer.m.mountPoint}/" inner.m.mountPoint
      ) mountList
    )
  ) mountList;
in
{
  options.services.archil = {
    enable = lib.mkEnableOption "Archil disks mounted by archil-launch, one systemd service per mount";

    package = lib.mkPackageOption pkgs "archil" {
      default = null;
      example = "pkgs.callPackage ./archil.nix { }";
      extraDescription = ''
        The proprietary Archil client, which is not in Nixpkgs: package it
        yourself and set this option. It must provide `bin/archil`.
      '';
    };

    launcherPackage = lib.mkOption {
      type = lib.types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = lib.literalMD "`archil-launch` built from the source of this module (`nixos/package.nix`)";
      description = "The archil-launch package to use (the launcher in each unit's `ExecStart=`, and `archil-launch --check`).";
      example = lib.literalExpression "inputs.archil-launch.packages.\${pkgs.stdenv.hostPlatform.system}.default";
    };

    mounts = lib.mkOption {
      type = lib.types.attrsOf (lib.types.submodule mountModule);
      default = { };
      description = ''
        Archil disks to mount. Each becomes a service
        `archil-mount-<name>.service` and a config file
        `/etc/archil/mounts.d/<name>.json` (read by `archil-launch --check`).
        The name must be 1 to 64 characters from `A-Z a-z 0-9 _ -`.
      '';
      example = lib.literalExpression ''
        {
          data = {
            diskName = "myorg/data";
            mountPoint = "/mnt/data";
            region = "aws-us-east-1";
            authMethod = "token";
            authTokenFile = "/run/agenix/archil-data";
          };
          models = {
            diskName = "myorg/models";
            mountPoint = "/mnt/models";
            region = "aws-us-east-1";
            readOnly = true;
          };
        }
      '';
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      {
        assertion = options.services.archil.package.isDefined;
        message = "services.archil.package is not set: the Archil client is proprietary and not in Nixpkgs. Package it and set services.archil.package to it.";
      }
    ]
    ++ lib.concatLists (lib.mapAttrsToList mountAssertions cfg.mounts)
    ++ lib.mapAttrsToList (mountPoint: names: {
      assertion = false;
      message = "${mountOptionOf (lib.last names) "mountPoint"}: ${mountPoint} is also the mount point of ${
        lib.concatMapStringsSep ", " mountOption (lib.init names)
      }; each mount needs its own.";
    }) duplicateMountPoints
    ++ map (p: {
      assertion = false;
      message = "${mountOptionOf p.inner.name "mountPoint"}: ${p.inner.m.mountPoint} is inside ${mountOptionOf p.outer.name "mountPoint"} (${p.outer.m.mountPoint}); mount points must not be nested.";
    }) nestedMountPoints;

    warnings = lib.concatLists (
      lib.mapAttrsToList (
        name: m:
        lib.optional (m.authToken != null) "${mountOptionOf name "authToken"} is set: the token is written to the Nix store, which every local user can read. Use authTokenFile, encryptedAuthTokenFile or credstore instead."
        ++ lib.optional (
          validate.mountPoint m.mountPoint == null && unitName.mountUnit m.mountPoint == null
        ) "${mountOptionOf name "mountPoint"} is so long that systemd hashes the name of its .mount unit, which the module cannot name: the unit lacks the explicit After= on it that makes its flushing stop run before systemd's own unmount at shutdown (systemd's default dependencies still order the two)."
      ) cfg.mounts
    );

    boot.kernelModules = [ "fuse" ];

    environment.systemPackages = lib.optional clientDefined cfg.package ++ [ cfg.launcherPackage ];

    environment.etc = lib.mapAttrs' (
      name: m: lib.nameValuePair "archil/mounts.d/${name}.json" { source = configFile name m; }
    ) cfg.mounts;

    systemd.services = lib.mapAttrs' mountService cfg.mounts;
  };
}
