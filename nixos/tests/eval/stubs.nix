# Stand-ins for the few NixOS options module.nix sets, close enough to the
# real ones (nixos/lib/systemd-unit-options.nix, systemd-lib.nix) for the
# module to evaluate with nothing but Nixpkgs' lib. As strict as NixOS where
# a value could be refused: unit lists are unitNameType, the description a
# single line, and a service's unitConfig and PATH are derived from its
# other options the way NixOS does it, so a definition that would clash
# there clashes here.
{ lib, ... }:
let
  inherit (lib) mkOption types;

  # NixOS' unitOption: a value or a list; lists from several definitions
  # are concatenated, single values must agree (after priorities).
  unitOption = lib.mkOptionType {
    name = "systemd option";
    check = _: true;
    merge =
      loc: defs:
      let
        defs' = lib.filterOverrides defs;
      in
      if lib.any (def: lib.isList def.value) defs' then
        lib.concatMap (def: lib.toList def.value) defs'
      else
        lib.mergeEqualOption loc defs';
  };

  # NixOS' unitNameType (nixos/lib/systemd-lib.nix).
  unitNameType = types.strMatching "[a-zA-Z0-9@%:_.\\-]+[.](service|socket|device|mount|automount|swap|target|path|timer|scope|slice)";

  listOfUnits = mkOption {
    type = types.listOf unitNameType;
    default = [ ];
  };

  serviceModule =
    { config, ... }:
    {
    freeformType = types.attrsOf types.anything;
    # As NixOS' unitConfig and serviceConfig modules: lists become
    # settings, `path` becomes PATH (a second PATH definition clashes).
    config = {
      unitConfig =
        lib.optionalAttrs (config.description != "") { Description = config.description; }
        // lib.optionalAttrs (config.requires != [ ]) { Requires = toString config.requires; }
        // lib.optionalAttrs (config.wants != [ ]) { Wants = toString config.wants; }
        // lib.optionalAttrs (config.after != [ ]) { After = toString config.after; }
        // lib.optionalAttrs (config.before != [ ]) { Before = toString config.before; };
      environment.PATH = "${lib.makeBinPath config.path}:${lib.makeSearchPathOutput "bin" "sbin" config.path}";
    };
    options = {
      description = mkOption {
        type = types.singleLineStr;
        default = "";
      };
      wants = listOfUnits;
      requires = listOfUnits;
      after = listOfUnits;
      before = listOfUnits;
      wantedBy = listOfUnits;
      requiredBy = listOfUnits;
      environment = mkOption {
        type = types.attrsOf (
          types.nullOr (
            types.oneOf [
              types.str
              types.path
              types.package
            ]
          )
        );
        default = { };
      };
      path = mkOption {
        type = types.listOf (
          types.oneOf [
            types.package
            types.str
          ]
        );
        default = [ ];
      };
      restartIfChanged = mkOption {
        type = types.bool;
        default = true;
      };
      unitConfig = mkOption {
        type = types.attrsOf unitOption;
        default = { };
      };
      serviceConfig = mkOption {
        type = types.attrsOf unitOption;
        default = { };
      };
    };
    };
in
{
  options = {
    assertions = mkOption {
      type = types.listOf types.unspecified;
      default = [ ];
    };
    warnings = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };
    boot.kernelModules = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };
    environment.systemPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
    };
    environment.etc = mkOption {
      type = types.attrsOf (
        types.submodule {
          freeformType = types.attrsOf types.anything;
          options.source = mkOption { type = types.unspecified; };
        }
      );
      default = { };
    };
    systemd.tmpfiles.rules = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };
    systemd.services = mkOption {
      type = types.attrsOf (types.submodule serviceModule);
      default = { };
    };
  };
}
