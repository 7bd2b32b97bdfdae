# The options of one mount, services.archil.mounts.<name> (a submodule).
# Their rules beyond the types are in validate.nix, their assertions in
# mount-checks.nix.
{ lib, validate }:
let
  # A reference to a sibling option, as the manual renders it:
  # {option}`services.archil.mounts.<name>.authTokenFile`.
  ref = option: "{option}`services.archil.mounts.<name>.${option}`";

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

  # A unit name as NixOS' unitNameType takes it, checked here so that the
  # error names this option and not the service's.
  unitList = lib.types.listOf (
    lib.types.strMatching "[a-zA-Z0-9@%:_.\\-]+[.](service|socket|device|mount|automount|swap|target|path|timer|scope|slice)"
  );
in
{ name, config, ... }:
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
        `/bin`, `/sbin`, `/lib`, `/lib64` or `/run/credentials`, nor at or
        above an entry of {option}`fileSystems`.
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
        from exactly one of ${ref "authToken"}, ${ref "authTokenFile"},
        ${ref "encryptedAuthTokenFile"} or ${ref "credstore"}.
      '';
      example = "token";
    };

    authToken = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      description = ''
        The disk token itself. It is written to the Nix store, which
        every local user can read: prefer ${ref "authTokenFile"},
        ${ref "encryptedAuthTokenFile"} or ${ref "credstore"}. Setting
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
        `systemd-creds encrypt --name=<credentialName>` (the name must be
        ${ref "credentialName"}), decrypted by systemd with
        `LoadCredentialEncrypted=` when the service starts.
      '';
      example = "/etc/credstore.encrypted/archil-token";
    };

    credstore = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = ''
        Take the disk token from the system credential store with
        `ImportCredential=`: a credential named ${ref "credentialName"}
        (by default `archil-token.<name>`: credstore names are global) in
        `/etc/credstore`, `/run/credstore`, `/etc/credstore.encrypted` or
        `/run/credstore.encrypted`, or one passed to the machine (for
        example with `systemd.set_credential=` or SMBIOS). Two mounts may
        not import the same credential.
      '';
      example = true;
    };

    credentialName = lib.mkOption {
      type = lib.types.str;
      default = if config.credstore then "archil-token.${name}" else "archil-token";
      defaultText = lib.literalExpression ''if credstore then "archil-token.<name>" else "archil-token"'';
      description = ''
        Name (id) of the systemd credential that holds the token; the
        launcher reads `$CREDENTIALS_DIRECTORY/<credentialName>`. With
        ${ref "credstore"}, the name looked up in the credential store.
      '';
      example = "archil-data";
    };

    restartOnCredentialChange = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = ''
        Remount the disk with the new token when the file of
        ${ref "authTokenFile"} or ${ref "encryptedAuthTokenFile"} changes:
        a path unit `archil-token-<name>.path` watches it (`PathChanged=`:
        a write closed, a rename or delete, new attributes) and
        `archil-token-<name>.service` restarts the mount
        (`systemctl try-restart`, so a stop that flushes pending writes
        first) when the file's content differs from the credential the
        running mount was started with. A touch, or a secret manager
        writing the same token again, restarts nothing. The client reads
        its token once, so a new token needs a new mount. Off by default:
        the restart interrupts programs using the disk. With sops-nix,
        `sops.secrets.<secret>.restartUnits` does the same on a switch.
      '';
      example = true;
    };

    readOnly = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = ''
        Mount read-only: the client gets `--read-only` (0.8 clients: a
        read-only mount that takes no write delegation, so it coexists
        with writers elsewhere), and the launcher also sets the
        per-mount read-only flag before it reports ready, so a client
        that ignores the flag still serves no writes. The flag belongs to
        the mount in the host's mount namespace: a service with a
        namespace of its own (`PrivateTmp=`, `ProtectSystem=` ...) started
        before the disk was mounted receives the mount by propagation
        without it.
      '';
      example = true;
    };

    shared = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = "Share the disk with other clients (`--shared`: no checkout of the root).";
      example = true;
    };

    enableXattrs = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = ''
        Turn extended attributes on (`--enable-xattrs`; 0.8 clients have
        them off by default).
      '';
      example = true;
    };

    writebackCache = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = "Enable the kernel's writeback cache for the mount (`--writeback-cache`).";
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
      description = "Cache size in MiB the client shrinks to (`--target-cache-mb`), at most ${ref "maxCacheMB"}. `null`: the client's default (75 % of the maximum).";
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
      description = "Seconds the launcher waits for the mount to answer before it gives up. The unit's `TimeoutStartSec=` is 30 s more (and ${ref "imdsTimeoutSec"} more for an IAM mount).";
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
      type = unitList;
      default = [ "remote-fs.target" ];
      description = ''
        Units that want this mount's service: they start it, and are
        ordered after it (`Before=` on the mount's side), so they start
        once the disk answers and stop before it is unmounted. For a mount
        a service can do without.
      '';
      example = [ "multi-user.target" ];
    };

    requiredBy = lib.mkOption {
      type = unitList;
      default = [ ];
      description = ''
        Units that require this mount's service: they start it, are
        ordered after it, fail to start without it and stop when it
        stops. For a mount a service cannot do without. A target here
        makes a failed mount fail the target (a warning says so): name
        the services that need the disk instead.
      '';
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
      description = "Longest delay between restarts; the delay grows from ${ref "restartSec"} to this in 5 steps (`RestartMaxDelaySec=`).";
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
}
