# Options of NixOS modules that the evaluation does not load, declared
# (never given values a real system would not have) so that the loaded
# modules' definitions and reads of them type-check as on a real system.
# `_module.check` stays on: a definition of an option that is declared
# nowhere fails, here as in NixOS. Types follow the declaring module in
# nixpkgs (named in each comment), reduced to what is set or read here.
{ lib, ... }:
let
  inherit (lib) mkOption types;

  declare = type: default: mkOption { inherit type default; };
  required = type: mkOption { inherit type; };

  envValue = types.either types.str (types.listOf types.str);

  # tasks/filesystems.nix: coreFileSystemOpts and fileSystemOpts.
  nonEmptyStr = types.strMatching ".*[^ \t\n].*";
  mountPath = types.addCheck nonEmptyStr (s: builtins.match ".+/" s == null);
  fileSystem =
    { name, ... }:
    {
      options = {
        enable = declare types.bool true;
        mountPoint = declare mountPath name;
        device = declare (types.nullOr nonEmptyStr) null;
        label = declare (types.nullOr nonEmptyStr) null;
        fsType = declare nonEmptyStr "auto";
        options = declare (types.nonEmptyListOf nonEmptyStr) [ "defaults" ];
        depends = declare (types.listOf mountPath) [ ];
        noCheck = declare types.bool false;
        autoFormat = declare types.bool false;
        autoResize = declare types.bool false;
        neededForBoot = declare types.bool false;
      };
    };
in
{
  options = {
    # misc/lib.nix
    lib = declare (types.attrsOf types.attrs) { };

    # config/shells-environment.nix, config/system-environment.nix
    environment.variables = declare (types.attrsOf envValue) { };
    environment.sessionVariables = declare (types.attrsOf envValue) { };

    # config/sysctl.nix
    boot.kernel.sysctl = declare (types.attrsOf (
      types.nullOr (
        types.oneOf [
          types.bool
          types.str
          types.int
        ]
      )
    )) { };

    # services/system/dbus.nix, services/desktops/geoclue2.nix,
    # services/networking/ssh/sshd.nix, services/logging/logrotate.nix
    services.dbus.enable = declare types.bool false;
    services.geoclue2.enable = declare types.bool false;
    services.openssh.enable = declare types.bool false;
    services.openssh.package = required types.package;
    services.logrotate.settings = declare (types.attrsOf (
      types.submodule {
        freeformType = types.attrsOf (
          types.nullOr (
            types.oneOf [
              types.int
              types.bool
              types.str
            ]
          )
        );
      }
    )) { };

    # security/polkit.nix, security/pam.nix
    security.polkit.enable = declare types.bool false;
    security.pam.services = declare (types.attrsOf (
      types.submodule {
        options.setLoginUid = required types.bool;
        options.pamMount = required types.bool;
      }
    )) { };

    # config/users-groups.nix, misc/ids.nix
    users.users = declare (types.attrsOf (
      types.submodule {
        options.uid = declare (types.nullOr types.int) null;
        options.group = declare types.str "";
      }
    )) { };
    users.groups = declare (types.attrsOf (
      types.submodule (
        { name, ... }:
        {
          options.name = declare types.str name;
          options.gid = declare (types.nullOr types.int) null;
        }
      )
    )) { };
    ids.uids = required (types.attrsOf types.int);
    ids.gids = required (types.attrsOf types.int);

    # config/nsswitch.nix
    system.nssModules = declare (types.listOf types.path) [ ];
    system.nssDatabases = lib.genAttrs [ "hosts" "passwd" "group" "shadow" ] (
      _: declare (types.listOf types.str) [ ]
    );

    # tasks/filesystems.nix
    fileSystems = mkOption {
      type = types.attrsOf (types.submodule fileSystem);
      default = { };
      apply = lib.filterAttrs (_: fs: fs.enable);
    };
    system.fsPackages = declare (types.listOf types.package) [ ];

    # system/activation/top-level.nix, system/boot/loader/loader.nix
    system.systemBuilderArgs = declare (types.attrsOf types.unspecified) { };
    system.systemBuilderCommands = declare types.lines "";
    system.boot.loader.kernelFile = required types.str;
    system.boot.loader.initrdFile = required types.str;

    # system/boot/stage-1.nix, system/boot/systemd.nix (extraSystemdUnitPaths)
    boot.initrd.enable = declare types.bool true;
    boot.initrd.secrets = declare (types.attrsOf (types.nullOr types.path)) { };
    boot.extraSystemdUnitPaths = declare (types.listOf types.str) [ ];

    # hardware/device-tree.nix, hardware/all-firmware.nix
    hardware.deviceTree.package = declare (types.nullOr types.path) null;
    hardware.firmware = declare (types.listOf types.package) [ ];

    # system/activation/specialisation.nix
    specialisation = declare (types.attrsOf (
      types.submodule {
        options.configuration = declare types.deferredModule { };
        options.inheritParentConfig = declare types.bool true;
      }
    )) { };

    # system/boot/systemd/tmpfiles.nix
    systemd.tmpfiles.rules = declare (types.listOf types.str) [ ];
  };
}
