# services.archil: Archil disks mounted by archil-launch, one systemd
# service per mount (DESIGN.md, "NixOS module"). The options of a mount are
# in mount-options.nix, what it becomes in mount-unit.nix (its hardening in
# hardening.nix), its assertions and warnings in mount-checks.nix.
{
  config,
  lib,
  options,
  pkgs,
  utils,
  ...
}:
let
  cfg = config.services.archil;
  validate = import ./validate.nix { inherit lib; };

  # The client, once services.archil.package is set; before that, an
  # assertion says so and this stand-in keeps evaluation from failing with
  # a less helpful "used but not defined" first.
  clientDefined = options.services.archil.package.isDefined && cfg.package != null;

  units = import ./mount-unit.nix {
    inherit lib pkgs utils validate;
    clientExe = if clientDefined then lib.getExe' cfg.package "archil" else "/run/current-system/sw/bin/archil";
    launcherExe = lib.getExe cfg.launcherPackage;
    systemdPackage = config.systemd.package;
  };

  checks = import ./mount-checks.nix {
    inherit lib validate;
    inherit (cfg) mounts;
    inherit (config) fileSystems;
    services = config.systemd.services;
  };

  # restartOnCredentialChange's units, per mount that has them.
  tokenWatches = lib.filterAttrs (_: w: w != { }) (lib.mapAttrs units.tokenWatch cfg.mounts);
  watchUnits =
    kind: lib.mapAttrs' (name: w: lib.nameValuePair "archil-token-${name}" w.${kind}) tokenWatches;
in
{
  meta.maintainers = [
    # Set to lib.maintainers entries when the module goes into Nixpkgs: the
    # option accepts nothing else.
  ];

  options.services.archil = {
    enable = lib.mkEnableOption "Archil disks mounted by archil-launch, one systemd service per mount";

    package = lib.mkPackageOption pkgs "archil" {
      default = null;
      example = "inputs.archil-flake.packages.\${pkgs.stdenv.hostPlatform.system}.archil";
      extraDescription = ''
        The proprietary Archil client, which is not in Nixpkgs: take it from
        the archil-flake, or package it yourself. It must provide
        `bin/archil`.
      '';
    };

    launcherPackage = lib.mkOption {
      type = lib.types.package;
      default = pkgs.callPackage ./package.nix { };
      defaultText = lib.literalMD "`archil-launch` built from the source of this module (`nixos/package.nix`)";
      description = "The archil-launch package to use (the launcher in each unit's `ExecStart=` and `ExecStopPost=`, and `archil-launch --check`).";
      example = lib.literalExpression "inputs.archil-launch.packages.\${pkgs.stdenv.hostPlatform.system}.default";
    };

    mounts = lib.mkOption {
      type = lib.types.attrsOf (lib.types.submodule (import ./mount-options.nix { inherit lib validate; }));
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
        message = "services.archil.package is not set: the Archil client is proprietary and not in Nixpkgs. Set services.archil.package to a package of it (the archil-flake's packages.<system>.archil, or your own).";
      }
    ]
    ++ checks.assertions;

    inherit (checks) warnings;

    boot.kernelModules = [ "fuse" ];

    environment.systemPackages = lib.optional clientDefined cfg.package ++ [ cfg.launcherPackage ];

    environment.etc = lib.mapAttrs' (
      name: m: lib.nameValuePair "archil/mounts.d/${name}.json" { source = units.configFile name m; }
    ) cfg.mounts;

    systemd.services =
      lib.mapAttrs' (name: m: lib.nameValuePair "archil-mount-${name}" (units.service name m)) cfg.mounts
      // watchUnits "service";

    systemd.paths = watchUnits "path";
  };
}
